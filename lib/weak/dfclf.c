/* The classifier file (.dfclf): "DFCLF" magic, a format version, a JSON header saying what the
 * classifier needs (feature set, channels, classes, classifier, the model's identity and the
 * upsampling settings for deep features), the classifier, and an end marker; written to a temporary file and renamed, so a crash never leaves half a file. */
#include "weak_internal.h"
#include "../checkpoint/json.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char magic[8] = {'D', 'F', 'C', 'L', 'F', 0, '\r', '\n'};
static const char end_marker[8] = {'D', 'F', 'C', 'L', 'F', 'E', 'N', 'D'};
#define FORMAT_VERSION 1u

static const char *const feature_names[3] = {"classical", "deep", "hybrid"};
/* The definition of the classical channels: HR-Dv2's featuriser. Files without it were trained on
 * the earlier, simplified stack, whose values differ; a classifier cannot read the other's. */
#define CLASSICAL_DEFINITION "hrdv2"

static int write_file(const df_weak *weak, FILE *f) {
    const df_weak_kind *k = &weak->kind;
    char header[2048], model[512];
    if (dfi_model_identity_json(&k->model, model, sizeof model) != 0) return -1;
    int length = snprintf(header, sizeof header,
                          "{\"format\": \"dinofeat classifier\", \"features\": \"%s\", \"classical\": \"%s\", "
                          "\"classical_settings\": {\"groups\": \"%s\", \"min_sigma\": %lld, \"max_sigma\": %lld, "
                          "\"membrane_size\": %lld, \"membrane_thickness\": %lld}, \"channels\": %zu, "
                          "\"classes\": %zu, \"classifier\": \"%s\", \"model\": %s, \"upsample\": {\"stride\": %lld, "
                          "\"shifts\": \"%s\", \"flips\": %lld, \"max_size\": %lld}, \"library\": \"%s\"}",
                          feature_names[k->features], CLASSICAL_DEFINITION, k->groups, (long long)k->min_sigma,
                          (long long)k->max_sigma, (long long)k->membrane_size, (long long)k->membrane_thickness,
                          weak->channels, weak->classes,
                          k->classifier == DFI_WEAK_FOREST ? "random_forest" : "logistic_regression", model,
                          (long long)k->stride, k->shifts, (long long)k->flips, (long long)k->max_size,
                          df_version_string());
    if (length < 0 || length >= (int)sizeof header) return -1;
    uint32_t version = FORMAT_VERSION, size = (uint32_t)length;
    if (fwrite(magic, 1, 8, f) != 8 || fwrite(&version, 4, 1, f) != 1 || fwrite(&size, 4, 1, f) != 1 ||
        fwrite(header, 1, (size_t)length, f) != (size_t)length)
        return -1;
    int failed = weak->forest ? dfi_forest_write(weak->forest, f) : dfi_logreg_write(weak->logreg, f);
    return failed || fwrite(end_marker, 1, 8, f) != 8 ? -1 : 0;
}

static int write_body(FILE *f, const void *weak) { return write_file(weak, f); }

df_status df_weak_save(const df_weak *weak, const char *path) {
    DFI_CHECK_NOT_NULL(weak);
    DFI_CHECK_NOT_NULL(path);
    DFI_RETURN(dfi_atomic_write(path, write_body, weak));
}

static int read_integer(const dfi_json *object, const char *key, int64_t *out) {
    const dfi_json *value = object ? dfi_json_member(object, key) : NULL;
    if (value == NULL || !value->is_integer) return -1;
    *out = value->integer;
    return 0;
}

static int read_string(const dfi_json *object, const char *key, char *out, size_t size) {
    const dfi_json *value = object ? dfi_json_member(object, key) : NULL;
    if (value == NULL || value->kind != DFI_JSON_STRING || strlen(value->string) >= size) return -1;
    snprintf(out, size, "%s", value->string);
    return 0;
}

/* The classical settings; files written before they were recorded used the defaults. */
static df_status read_classical_settings(const char *path, const dfi_json *json, df_weak_kind *k) {
    const dfi_json *settings = dfi_json_member(json, "classical_settings");
    snprintf(k->groups, sizeof k->groups, "%s", dfi_option_str(NULL, DF_PARAM_CLASSICAL_GROUPS));
    k->min_sigma = dfi_option_int(NULL, DF_PARAM_CLASSICAL_MIN_SIGMA);
    k->max_sigma = dfi_option_int(NULL, DF_PARAM_CLASSICAL_MAX_SIGMA);
    k->membrane_size = dfi_option_int(NULL, DF_PARAM_CLASSICAL_MEMBRANE_SIZE);
    k->membrane_thickness = dfi_option_int(NULL, DF_PARAM_CLASSICAL_MEMBRANE_THICKNESS);
    if (settings != NULL &&
        (read_string(settings, "groups", k->groups, sizeof k->groups) ||
         read_integer(settings, "min_sigma", &k->min_sigma) || read_integer(settings, "max_sigma", &k->max_sigma) ||
         read_integer(settings, "membrane_size", &k->membrane_size) ||
         read_integer(settings, "membrane_thickness", &k->membrane_thickness)))
        return dfi_error(DF_E_FORMAT, "%s: the classical settings lack a field or have one of the wrong type", path);
    if (dfi_weak_classical_check(k) != DF_OK) {
        char reason[256]; /* a copy: dfi_error rewrites the buffer it would read from */
        snprintf(reason, sizeof reason, "%s", df_last_error_message());
        return dfi_error(DF_E_FORMAT, "%s: %s", path, reason);
    }
    return DF_OK;
}

/* The header's promises, checked against what this build can run. */
static df_status read_header(const char *path, const dfi_json *json, df_weak *weak) {
    char features[16], classifier[32];
    int64_t channels, classes;
    df_weak_kind *k = &weak->kind;
    const dfi_json *model = dfi_json_member(json, "model"), *ups = dfi_json_member(json, "upsample");
    if (json->kind != DFI_JSON_OBJECT || read_string(json, "features", features, sizeof features) ||
        read_string(json, "classifier", classifier, sizeof classifier) || read_integer(json, "channels", &channels) ||
        read_integer(json, "classes", &classes) || classes < 1 || classes > 65535 || channels < 1 ||
        dfi_model_identity_from_json(model, &k->model) != 0 || read_integer(ups, "stride", &k->stride) ||
        read_string(ups, "shifts", k->shifts, sizeof k->shifts) || read_integer(ups, "flips", &k->flips) ||
        read_integer(ups, "max_size", &k->max_size))
        return dfi_error(DF_E_FORMAT, "%s: the header lacks a field or has one of the wrong type", path);
    int kind = -1;
    for (int i = 0; i < 3; i++)
        if (strcmp(features, feature_names[i]) == 0) kind = i;
    if (kind < 0) return dfi_error(DF_E_UNSUPPORTED, "%s: feature set '%s' is not one this build knows", path, features);
    k->features = (dfi_weak_features_kind)kind;
    char definition[32] = "";
    if (k->features != DFI_WEAK_DEEP &&
        (read_string(json, "classical", definition, sizeof definition) || strcmp(definition, CLASSICAL_DEFINITION) != 0))
        return dfi_error(DF_E_UNSUPPORTED,
                         "%s: trained on %s classical features, not HR-Dv2's that this build computes: train it again",
                         path, definition[0] ? definition : "the earlier, simplified");
    df_status status = read_classical_settings(path, json, k);
    if (status != DF_OK) return status;
    if (strcmp(classifier, "random_forest") == 0) k->classifier = DFI_WEAK_FOREST;
    else if (strcmp(classifier, "logistic_regression") == 0) k->classifier = DFI_WEAK_LOGREG;
    else return dfi_error(DF_E_UNSUPPORTED, "%s: classifier '%s' is not one this build knows", path, classifier);
    weak->classes = (size_t)classes;
    weak->channels = dfi_weak_channels(k);
    if ((int64_t)weak->channels != channels)
        return dfi_error(DF_E_FORMAT, "%s: %lld channels contradict the feature set", path, (long long)channels);
    return DF_OK;
}

static df_status parse_header(const char *path, const unsigned char *text, size_t length, df_weak *weak) {
    dfi_json *json = NULL;
    if (dfi_json_parse((const char *)text, length, &json) != DF_OK)
        return dfi_error(DF_E_FORMAT, "%s: the header is not JSON", path);
    df_status status = read_header(path, json, weak);
    dfi_json_free(json);
    return status;
}

static df_status parse(const char *path, const unsigned char *data, size_t size, df_weak *weak) {
    const unsigned char *header;
    size_t length;
    df_status status = dfi_container_header(path, data, size, magic, "dinofeat classifier file", FORMAT_VERSION,
                                            &header, &length);
    if (status == DF_OK) status = parse_header(path, header, length, weak);
    if (status != DF_OK) return status;
    size_t at = 16 + (size_t)length, used = 0;
    status = weak->kind.classifier == DFI_WEAK_FOREST
                 ? dfi_forest_read(data + at, size - at, weak->channels, weak->classes, &weak->forest, &used)
                 : dfi_logreg_read(data + at, size - at, weak->channels, weak->classes, &weak->logreg, &used);
    if (status != DF_OK) {
        char reason[256]; /* a copy: dfi_error rewrites the buffer it would read from */
        snprintf(reason, sizeof reason, "%s", df_last_error_message());
        return dfi_error(status, "%s: %s", path, reason);
    }
    at += used;
    if (size - at != 8 || memcmp(data + at, end_marker, 8) != 0)
        return dfi_error(DF_E_FORMAT, "%s: truncated (no end marker)", path);
    return DF_OK;
}

df_status df_weak_load(const char *path, df_weak **out) {
    DFI_CHECK_NOT_NULL(out);
    *out = NULL;
    DFI_CHECK_NOT_NULL(path);
    unsigned char *data = NULL;
    size_t size = 0;
    df_status status = dfi_read_file(path, &data, &size);
    if (status != DF_OK) DFI_RETURN(status);
    df_weak *weak = calloc(1, sizeof *weak);
    status = weak ? parse(path, data, size, weak) : dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    free(data);
    if (status != DF_OK) {
        df_weak_free(weak);
        DFI_RETURN(status);
    }
    *out = weak;
    return DF_OK;
}
