/* Compiled as C99 and as C++ with -Wall -Wextra -pedantic -Werror (make check-headers): the
 * public headers must stand alone in both languages. */
#include "dinofeat/dinofeat.h"
#include "dinofeat/core.h"
#include "dinofeat/image.h"
#include "dinofeat/tensor.h"

int header_test_uses_the_api(void);
int header_test_uses_the_api(void) {
    df_tensor_view view;
    view.struct_size = sizeof view;
    return (int)df_version_number() + (int)view.struct_size + DF_VERSION_NUMBER;
}
