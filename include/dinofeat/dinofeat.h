/*
 * dinofeat: self-supervised ViT features (DINO, DINOv2, registers, NeCo) and the methods built
 * on them, from plain C. Include this header; it includes the others.
 */
#ifndef DINOFEAT_H
#define DINOFEAT_H

#include "dinofeat/core.h"
#include "dinofeat/tensor.h"
#include "dinofeat/image.h"
#include "dinofeat/model.h"
#include "dinofeat/upsample.h"
#include "dinofeat/cluster.h"
#include "dinofeat/eval.h"
#include "dinofeat/regions.h"
#include "dinofeat/crf.h"
#include "dinofeat/segment.h"
#include "dinofeat/weak.h"
#include "dinofeat/datus.h"
#include "dinofeat/distributed.h"
#include "dinofeat/dataset.h"
#include "dinofeat/cache.h"
#include "dinofeat/stego.h"
#include "dinofeat/sempart.h"
#include "dinofeat/neco.h"
#include "dinofeat/trainer.h"

#endif /* DINOFEAT_H */
