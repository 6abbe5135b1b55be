/* JSON for safetensors headers. */
#include "json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 32

typedef struct parser {
    const char *text;
    size_t size, at;
    char message[256];
} parser;

static int fail(parser *p, const char *what) {
    snprintf(p->message, sizeof p->message, "invalid JSON header at byte %zu: %s", p->at, what);
    return -1;
}

static void skip_space(parser *p) {
    while (p->at < p->size && (p->text[p->at] == ' ' || p->text[p->at] == '\n' ||
                               p->text[p->at] == '\r' || p->text[p->at] == '\t'))
        p->at++;
}

static int parse_value(parser *p, dfi_json *out, int depth);

static int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Strings: escapes decoded, \u to UTF-8 (surrogate pairs combined), NUL refused. */
static int parse_string(parser *p, char **out) {
    p->at++; /* opening quote */
    size_t start = p->at;
    while (p->at < p->size && p->text[p->at] != '"') p->at += p->text[p->at] == '\\' ? 2 : 1;
    if (p->at >= p->size) return fail(p, "unterminated string");
    size_t end = p->at++;
    char *s = malloc(end - start + 1), *w = s;
    if (s == NULL) return fail(p, "out of memory");
    for (size_t i = start; i < end; i++) {
        char c = p->text[i];
        if ((unsigned char)c < 0x20) { free(s); return fail(p, "control character in string"); }
        if (c != '\\') { *w++ = c; continue; }
        char e = p->text[++i];
        switch (e) {
        case '"': case '\\': case '/': *w++ = e; break;
        case 'b': *w++ = '\b'; break;
        case 'f': *w++ = '\f'; break;
        case 'n': *w++ = '\n'; break;
        case 'r': *w++ = '\r'; break;
        case 't': *w++ = '\t'; break;
        case 'u': {
            unsigned code = 0;
            for (int k = 1; k <= 4; k++) {
                int h = i + k < end ? hex_value(p->text[i + k]) : -1;
                if (h < 0) { free(s); return fail(p, "bad \\u escape"); }
                code = code << 4 | (unsigned)h;
            }
            i += 4;
            if (code == 0) { free(s); return fail(p, "NUL in string"); }
            if (code >= 0xD800 && code <= 0xDBFF && i + 6 < end && p->text[i + 1] == '\\' && p->text[i + 2] == 'u') {
                unsigned low = 0;
                for (int k = 3; k <= 6; k++) {
                    int h = hex_value(p->text[i + k]);
                    if (h < 0) { free(s); return fail(p, "bad \\u escape"); }
                    low = low << 4 | (unsigned)h;
                }
                if (low >= 0xDC00 && low <= 0xDFFF) {
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
                    i += 6;
                }
            }
            if (code < 0x80) *w++ = (char)code;
            else if (code < 0x800) { *w++ = (char)(0xC0 | code >> 6); *w++ = (char)(0x80 | (code & 0x3F)); }
            else if (code < 0x10000) {
                *w++ = (char)(0xE0 | code >> 12); *w++ = (char)(0x80 | (code >> 6 & 0x3F)); *w++ = (char)(0x80 | (code & 0x3F));
            } else {
                *w++ = (char)(0xF0 | code >> 18); *w++ = (char)(0x80 | (code >> 12 & 0x3F));
                *w++ = (char)(0x80 | (code >> 6 & 0x3F)); *w++ = (char)(0x80 | (code & 0x3F));
            }
            break;
        }
        default: free(s); return fail(p, "bad escape");
        }
    }
    *w = '\0';
    *out = s;
    return 0;
}

static int parse_number(parser *p, dfi_json *out) {
    size_t start = p->at;
    int integer = 1;
    if (p->text[p->at] == '-') p->at++;
    while (p->at < p->size) {
        char c = p->text[p->at];
        if (c >= '0' && c <= '9') p->at++;
        else if (c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-') { integer = 0; p->at++; }
        else break;
    }
    char buffer[64];
    size_t length = p->at - start;
    if (length == 0 || length >= sizeof buffer) return fail(p, "bad number");
    memcpy(buffer, p->text + start, length);
    buffer[length] = '\0';
    char *end;
    out->kind = DFI_JSON_NUMBER;
    out->number = strtod(buffer, &end);
    if (*end != '\0' || !isfinite(out->number)) return fail(p, "bad number");
    if (integer) {
        long long value = strtoll(buffer, &end, 10);
        out->is_integer = *end == '\0' && (double)value == out->number && fabs(out->number) < 9.0e18;
        out->integer = value;
    }
    return 0;
}

static int expect_literal(parser *p, const char *word) {
    size_t n = strlen(word);
    if (p->size - p->at < n || memcmp(p->text + p->at, word, n) != 0) return fail(p, "unexpected token");
    p->at += n;
    return 0;
}

static int push_item(parser *p, dfi_json *container, size_t *capacity) {
    if (container->count == *capacity) {
        size_t grown = *capacity ? 2 * *capacity : 8;
        dfi_json *items = realloc(container->items, grown * sizeof *items);
        if (items == NULL) return fail(p, "out of memory");
        container->items = items;
        if (container->kind == DFI_JSON_OBJECT) {
            char **keys = realloc(container->keys, grown * sizeof *keys);
            if (keys == NULL) return fail(p, "out of memory");
            container->keys = keys;
        }
        *capacity = grown;
    }
    memset(&container->items[container->count], 0, sizeof container->items[0]);
    if (container->kind == DFI_JSON_OBJECT) container->keys[container->count] = NULL;
    container->count++;
    return 0;
}

static int parse_container(parser *p, dfi_json *out, int depth, int is_object) {
    out->kind = is_object ? DFI_JSON_OBJECT : DFI_JSON_ARRAY;
    char close = is_object ? '}' : ']';
    size_t capacity = 0;
    p->at++;
    skip_space(p);
    if (p->at < p->size && p->text[p->at] == close) { p->at++; return 0; }
    for (;;) {
        skip_space(p);
        char *key = NULL;
        if (is_object) {
            if (p->at >= p->size || p->text[p->at] != '"') return fail(p, "expected a key");
            if (parse_string(p, &key) != 0) return -1;
            if (dfi_json_member(out, key) != NULL) {
                char what[128];
                snprintf(what, sizeof what, "the key '%.100s' appears twice", key);
                free(key);
                return fail(p, what);
            }
            skip_space(p);
            if (p->at >= p->size || p->text[p->at] != ':') { free(key); return fail(p, "expected ':'"); }
            p->at++;
        }
        if (push_item(p, out, &capacity) != 0) { free(key); return -1; }
        if (is_object) out->keys[out->count - 1] = key;
        if (parse_value(p, &out->items[out->count - 1], depth + 1) != 0) return -1;
        skip_space(p);
        if (p->at < p->size && p->text[p->at] == ',') { p->at++; continue; }
        if (p->at < p->size && p->text[p->at] == close) { p->at++; return 0; }
        return fail(p, is_object ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static int parse_value(parser *p, dfi_json *out, int depth) {
    if (depth > MAX_DEPTH) return fail(p, "nested too deeply");
    skip_space(p);
    if (p->at >= p->size) return fail(p, "unexpected end");
    char c = p->text[p->at];
    if (c == '{') return parse_container(p, out, depth, 1);
    if (c == '[') return parse_container(p, out, depth, 0);
    if (c == '"') { out->kind = DFI_JSON_STRING; return parse_string(p, &out->string); }
    if (c == '-' || (c >= '0' && c <= '9')) return parse_number(p, out);
    if (c == 't') { out->kind = DFI_JSON_BOOL; out->number = 1; return expect_literal(p, "true"); }
    if (c == 'f') { out->kind = DFI_JSON_BOOL; return expect_literal(p, "false"); }
    if (c == 'n') { out->kind = DFI_JSON_NULL; return expect_literal(p, "null"); }
    return fail(p, "unexpected character");
}

static void release(dfi_json *value) {
    for (size_t i = 0; i < value->count; i++) {
        release(&value->items[i]);
        if (value->keys) free(value->keys[i]);
    }
    free(value->items);
    free(value->keys);
    free(value->string);
}

void dfi_json_free(dfi_json *value) {
    if (value == NULL) return;
    release(value);
    free(value);
}

const dfi_json *dfi_json_member(const dfi_json *object, const char *key) {
    if (object == NULL || object->kind != DFI_JSON_OBJECT) return NULL;
    for (size_t i = 0; i < object->count; i++)
        if (object->keys[i] != NULL && strcmp(object->keys[i], key) == 0) return &object->items[i];
    return NULL;
}

df_status dfi_json_parse(const char *text, size_t size, dfi_json **out) {
    parser p = {.text = text, .size = size};
    dfi_json *root = calloc(1, sizeof *root);
    if (root == NULL) return dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    if (parse_value(&p, root, 0) != 0) {
        dfi_json_free(root);
        return dfi_error(DF_E_FORMAT, "%s", p.message);
    }
    skip_space(&p);
    if (p.at != p.size) {
        dfi_json_free(root);
        fail(&p, "trailing characters");
        return dfi_error(DF_E_FORMAT, "%s", p.message);
    }
    *out = root;
    return DF_OK;
}

int dfi_json_number(const dfi_json *object, const char *key, double *out) {
    const dfi_json *v = dfi_json_member(object, key);
    if (v == NULL || v->kind != DFI_JSON_NUMBER) return -1;
    *out = v->number;
    return 0;
}

int dfi_json_integer(const dfi_json *object, const char *key, int64_t *out) {
    const dfi_json *v = dfi_json_member(object, key);
    if (v == NULL || !v->is_integer) return -1;
    *out = v->integer;
    return 0;
}
