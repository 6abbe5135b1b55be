/* The pickle virtual machine, restricted to state dicts. */
#include "unpickle.h"

#include <stdlib.h>
#include <string.h>

#define MAX_STACK 100000
#define MAX_VALUES 50000000

struct dfi_pickle {
    dfi_pickle_value **values; /* every value made, for freeing */
    size_t value_count, value_capacity;
    dfi_pickle_value **stack;
    size_t depth, stack_capacity;
    size_t *marks;
    size_t mark_count, mark_capacity;
    dfi_pickle_value **memo;
    size_t memo_capacity;
};

static int grow(void **array, size_t *capacity, size_t needed, size_t element) {
    if (needed <= *capacity) return 0;
    size_t next = *capacity ? *capacity : 16;
    while (next < needed) next *= 2;
    void *grown = realloc(*array, next * element);
    if (grown == NULL) return -1;
    memset((char *)grown + *capacity * element, 0, (next - *capacity) * element);
    *array = grown;
    *capacity = next;
    return 0;
}

static dfi_pickle_value *new_value(dfi_pickle *p, dfi_pickle_kind kind) {
    if (p->value_count >= MAX_VALUES ||
        grow((void **)&p->values, &p->value_capacity, p->value_count + 1, sizeof *p->values) != 0)
        return NULL;
    dfi_pickle_value *value = calloc(1, sizeof *value);
    if (value == NULL) return NULL;
    value->kind = kind;
    p->values[p->value_count++] = value;
    return value;
}

void dfi_pickle_free(dfi_pickle *p) {
    if (p == NULL) return;
    for (size_t i = 0; i < p->value_count; i++) {
        free(p->values[i]->string);
        free(p->values[i]->items);
        free(p->values[i]);
    }
    free(p->values);
    free(p->stack);
    free(p->marks);
    free(p->memo);
    free(p);
}

static int push(dfi_pickle *p, dfi_pickle_value *value) {
    if (value == NULL || p->depth >= MAX_STACK ||
        grow((void **)&p->stack, &p->stack_capacity, p->depth + 1, sizeof *p->stack) != 0)
        return -1;
    p->stack[p->depth++] = value;
    return 0;
}

static int append_item(dfi_pickle_value *container, dfi_pickle_value *item) {
    if (grow((void **)&container->items, &container->capacity, container->count + 1, sizeof *container->items) != 0)
        return -1;
    container->items[container->count++] = item;
    return 0;
}

/* The storage classes torch.save names, by element type. */
static int storage_dtype(const char *global, df_dtype *dtype) {
    static const struct { const char *name; df_dtype dtype; } table[] = {
        {"torch.FloatStorage", DF_DTYPE_FLOAT32},   {"torch.HalfStorage", DF_DTYPE_FLOAT16},
        {"torch.BFloat16Storage", DF_DTYPE_BFLOAT16}, {"torch.DoubleStorage", DF_DTYPE_FLOAT64},
        {"torch.LongStorage", DF_DTYPE_INT64},      {"torch.IntStorage", DF_DTYPE_INT32},
        {"torch.ByteStorage", DF_DTYPE_UINT8},      {"torch.BoolStorage", DF_DTYPE_UINT8}};
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(table[i].name, global) == 0) {
            *dtype = table[i].dtype;
            return 1;
        }
    return 0;
}

/* Globals a state dict file may name. Those marked opaque stand for objects we never need
 * (training arguments, optimizer bytes) and become placeholders; nothing is ever imported. */
static int global_allowed(const char *name) {
    static const char *const allowed[] = {
        "collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter",
        "torch._utils._rebuild_parameter_with_state", "argparse.Namespace", "_codecs.encode",
        "builtins.set", "torch.torch_version.TorchVersion"};
    df_dtype unused;
    if (storage_dtype(name, &unused)) return 1;
    for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
        if (strcmp(allowed[i], name) == 0) return 1;
    return 0;
}

typedef struct reader {
    const unsigned char *at, *end;
    char message[512];
} reader;

static int need(reader *r, size_t n) { return (size_t)(r->end - r->at) >= n; }

static uint64_t read_le(reader *r, int n) {
    uint64_t value = 0;
    for (int i = n - 1; i >= 0; i--) value = value << 8 | r->at[i];
    r->at += n;
    return value;
}

static int fail(reader *r, const char *what) {
    snprintf(r->message, sizeof r->message, "%s", what);
    return -1;
}

static dfi_pickle_value *make_string(dfi_pickle *p, const unsigned char *text, size_t length) {
    dfi_pickle_value *value = new_value(p, DFI_PICKLE_STRING);
    if (value == NULL || (value->string = malloc(length + 1)) == NULL) return NULL;
    memcpy(value->string, text, length);
    value->string[length] = '\0';
    value->integer = (int64_t)length;
    return value;
}

static dfi_pickle_value *pop(dfi_pickle *p) { return p->depth ? p->stack[--p->depth] : NULL; }

/* Pops everything above the last mark into a new container of the given kind. */
static dfi_pickle_value *pop_to_mark(dfi_pickle *p, dfi_pickle_kind kind) {
    if (p->mark_count == 0) return NULL;
    size_t mark = p->marks[--p->mark_count];
    if (mark > p->depth) return NULL;
    dfi_pickle_value *container = new_value(p, kind);
    if (container == NULL) return NULL;
    for (size_t i = mark; i < p->depth; i++)
        if (append_item(container, p->stack[i]) != 0) return NULL;
    p->depth = mark;
    return container;
}

static int int_item(const dfi_pickle_value *tuple, size_t index, int64_t *out) {
    if (tuple->kind != DFI_PICKLE_TUPLE || index >= tuple->count || tuple->items[index]->kind != DFI_PICKLE_INT) return -1;
    *out = tuple->items[index]->integer;
    return 0;
}

/* torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks, ...) */
static dfi_pickle_value *rebuild_tensor(dfi_pickle *p, reader *r, const dfi_pickle_value *args) {
    if (args->kind != DFI_PICKLE_TUPLE || args->count < 4 || args->items[0]->kind != DFI_PICKLE_STORAGE ||
        args->items[2]->kind != DFI_PICKLE_TUPLE || args->items[3]->kind != DFI_PICKLE_TUPLE ||
        args->items[2]->count != args->items[3]->count || args->items[2]->count > DF_TENSOR_MAX_DIMS) {
        fail(r, "malformed _rebuild_tensor_v2 arguments");
        return NULL;
    }
    dfi_pickle_value *tensor = new_value(p, DFI_PICKLE_TENSOR);
    if (tensor == NULL) return NULL;
    tensor->storage = args->items[0];
    tensor->dtype = args->items[0]->dtype;
    tensor->ndim = (int32_t)args->items[2]->count;
    if (int_item(args, 1, &tensor->offset) != 0 || tensor->offset < 0) {
        fail(r, "malformed tensor offset");
        return NULL;
    }
    for (int32_t i = 0; i < tensor->ndim; i++)
        if (int_item(args->items[2], (size_t)i, &tensor->shape[i]) != 0 ||
            int_item(args->items[3], (size_t)i, &tensor->strides[i]) != 0 || tensor->shape[i] < 0 ||
            tensor->strides[i] < 0) {
            fail(r, "malformed tensor size or stride");
            return NULL;
        }
    return tensor;
}

static dfi_pickle_value *reduce(dfi_pickle *p, reader *r, dfi_pickle_value *callable, dfi_pickle_value *args) {
    if (callable->kind != DFI_PICKLE_GLOBAL || args->kind != DFI_PICKLE_TUPLE) {
        fail(r, "REDUCE on something that is not a known global");
        return NULL;
    }
    const char *name = callable->string;
    if (strcmp(name, "collections.OrderedDict") == 0) return new_value(p, DFI_PICKLE_DICT);
    if (strcmp(name, "torch._utils._rebuild_tensor_v2") == 0) return rebuild_tensor(p, r, args);
    if (strncmp(name, "torch._utils._rebuild_parameter", 31) == 0) {
        if (args->count < 1 || args->items[0]->kind != DFI_PICKLE_TENSOR) {
            fail(r, "malformed _rebuild_parameter arguments");
            return NULL;
        }
        return args->items[0];
    }
    return new_value(p, DFI_PICKLE_OPAQUE);
}

/* BINPERSID: ('storage', storage class, key, location, numel) */
static dfi_pickle_value *persistent_load(dfi_pickle *p, reader *r, const dfi_pickle_value *pid) {
    if (pid->kind != DFI_PICKLE_TUPLE || pid->count < 5 || pid->items[0]->kind != DFI_PICKLE_STRING ||
        strcmp(pid->items[0]->string, "storage") != 0 || pid->items[1]->kind != DFI_PICKLE_GLOBAL ||
        pid->items[2]->kind != DFI_PICKLE_STRING || pid->items[4]->kind != DFI_PICKLE_INT || pid->items[4]->integer < 0) {
        fail(r, "malformed persistent id (expected a storage)");
        return NULL;
    }
    dfi_pickle_value *storage = new_value(p, DFI_PICKLE_STORAGE);
    if (storage == NULL) return NULL;
    if (!storage_dtype(pid->items[1]->string, &storage->dtype)) {
        fail(r, "unsupported storage type");
        return NULL;
    }
    storage->string = strdup(pid->items[2]->string);
    storage->numel = pid->items[4]->integer;
    return storage->string ? storage : NULL;
}

static int memo_put(dfi_pickle *p, uint64_t index, dfi_pickle_value *value) {
    if (index > MAX_VALUES || value == NULL ||
        grow((void **)&p->memo, &p->memo_capacity, (size_t)index + 1, sizeof *p->memo) != 0)
        return -1;
    p->memo[index] = value;
    return 0;
}

static int run(dfi_pickle *p, reader *r, const dfi_pickle_value **root) {
    size_t memo_next = 0;
    while (need(r, 1)) {
        unsigned char op = *r->at++;
        dfi_pickle_value *a, *b, *c;
        switch (op) {
        case 0x80: if (!need(r, 1)) return fail(r, "truncated"); r->at++; break;              /* PROTO */
        case 0x95: if (!need(r, 8)) return fail(r, "truncated"); r->at += 8; break;           /* FRAME */
        case '}': if (push(p, new_value(p, DFI_PICKLE_DICT))) return -1; break;
        case ']': if (push(p, new_value(p, DFI_PICKLE_LIST))) return -1; break;
        case ')': if (push(p, new_value(p, DFI_PICKLE_TUPLE))) return -1; break;
        case 'N': if (push(p, new_value(p, DFI_PICKLE_NONE))) return -1; break;
        case 0x88: case 0x89:
            if ((a = new_value(p, DFI_PICKLE_BOOL)) == NULL) return -1;
            a->integer = op == 0x88;
            if (push(p, a)) return -1;
            break;
        case '(':
            if (grow((void **)&p->marks, &p->mark_capacity, p->mark_count + 1, sizeof *p->marks)) return -1;
            p->marks[p->mark_count++] = p->depth;
            break;
        case 'X': case 0x8c: case 0x8d: case 'T': case 'U': case 'B': case 'C': case 0x8e: {
            int width = op == 0x8c || op == 'U' || op == 'C' ? 1 : op == 0x8d || op == 0x8e ? 8 : 4;
            if (!need(r, (size_t)width)) return fail(r, "truncated");
            uint64_t length = read_le(r, width);
            if (!need(r, length)) return fail(r, "a string runs past the end");
            if (push(p, make_string(p, r->at, (size_t)length))) return -1;
            r->at += length;
            break;
        }
        case 'J': case 'K': case 'M': {
            int width = op == 'J' ? 4 : op == 'K' ? 1 : 2;
            if (!need(r, (size_t)width)) return fail(r, "truncated");
            uint64_t raw = read_le(r, width);
            if ((a = new_value(p, DFI_PICKLE_INT)) == NULL) return -1;
            a->integer = op == 'J' ? (int64_t)(int32_t)(uint32_t)raw : (int64_t)raw;
            if (push(p, a)) return -1;
            break;
        }
        case 0x8a: { /* LONG1 */
            if (!need(r, 1)) return fail(r, "truncated");
            unsigned n = *r->at++;
            if (n > 8 || !need(r, n)) return fail(r, "unsupported long integer");
            uint64_t raw = n ? read_le(r, (int)n) : 0;
            if (n && n < 8 && (raw >> (8 * n - 1)) & 1) raw |= ~0ull << (8 * n);
            if ((a = new_value(p, DFI_PICKLE_INT)) == NULL) return -1;
            a->integer = (int64_t)raw;
            if (push(p, a)) return -1;
            break;
        }
        case 'G': { /* BINFLOAT, big-endian */
            if (!need(r, 8)) return fail(r, "truncated");
            uint64_t raw = 0;
            for (int i = 0; i < 8; i++) raw = raw << 8 | r->at[i];
            r->at += 8;
            if ((a = new_value(p, DFI_PICKLE_FLOAT)) == NULL) return -1;
            memcpy(&a->real, &raw, sizeof a->real);
            if (push(p, a)) return -1;
            break;
        }
        case 'q': case 'r': case 0x94: { /* BINPUT, LONG_BINPUT, MEMOIZE */
            uint64_t index;
            if (op == 0x94) index = memo_next++;
            else {
                int width = op == 'q' ? 1 : 4;
                if (!need(r, (size_t)width)) return fail(r, "truncated");
                index = read_le(r, width);
            }
            if (p->depth == 0 || memo_put(p, index, p->stack[p->depth - 1])) return fail(r, "bad memo store");
            break;
        }
        case 'h': case 'j': { /* BINGET, LONG_BINGET */
            int width = op == 'h' ? 1 : 4;
            if (!need(r, (size_t)width)) return fail(r, "truncated");
            uint64_t index = read_le(r, width);
            if (index >= p->memo_capacity || p->memo[index] == NULL) return fail(r, "memo lookup of an unknown slot");
            if (push(p, p->memo[index])) return -1;
            break;
        }
        case 'c': { /* GLOBAL "module\nname\n" */
            const unsigned char *line1 = memchr(r->at, '\n', (size_t)(r->end - r->at));
            const unsigned char *line2 = line1 ? memchr(line1 + 1, '\n', (size_t)(r->end - line1 - 1)) : NULL;
            if (line2 == NULL || line2 - r->at > 200) return fail(r, "malformed GLOBAL");
            char name[256];
            snprintf(name, sizeof name, "%.*s.%.*s", (int)(line1 - r->at), (const char *)r->at,
                     (int)(line2 - line1 - 1), (const char *)line1 + 1);
            r->at = line2 + 1;
            if (!global_allowed(name)) {
                snprintf(r->message, sizeof r->message,
                         "the pickle names the global '%s', which a state dict never needs: refused, not executed", name);
                return -1;
            }
            if ((a = new_value(p, DFI_PICKLE_GLOBAL)) == NULL || (a->string = strdup(name)) == NULL) return -1;
            if (push(p, a)) return -1;
            break;
        }
        case 't': if (push(p, pop_to_mark(p, DFI_PICKLE_TUPLE))) return fail(r, "bad TUPLE"); break;
        case 0x85: case 0x86: case 0x87: {
            size_t n = (size_t)(op - 0x84);
            if (p->depth < n || (a = new_value(p, DFI_PICKLE_TUPLE)) == NULL) return fail(r, "bad TUPLE");
            for (size_t i = p->depth - n; i < p->depth; i++)
                if (append_item(a, p->stack[i])) return -1;
            p->depth -= n;
            if (push(p, a)) return -1;
            break;
        }
        case 'a': /* APPEND */
            if (p->depth < 2 || (b = pop(p)) == NULL || (a = p->stack[p->depth - 1])->kind != DFI_PICKLE_LIST)
                return fail(r, "bad APPEND");
            if (append_item(a, b)) return -1;
            break;
        case 'e': case 'u': { /* APPENDS, SETITEMS */
            c = pop_to_mark(p, DFI_PICKLE_TUPLE);
            if (c == NULL || p->depth == 0) return fail(r, "bad APPENDS/SETITEMS");
            a = p->stack[p->depth - 1];
            if (op == 'u' && (c->count % 2 != 0)) return fail(r, "odd SETITEMS");
            if (a->kind == (op == 'e' ? DFI_PICKLE_LIST : DFI_PICKLE_DICT)) {
                for (size_t i = 0; i < c->count; i++)
                    if (append_item(a, c->items[i])) return -1;
            } else if (a->kind != DFI_PICKLE_OPAQUE) {
                return fail(r, "APPENDS/SETITEMS on a value that is not a list or dict");
            }
            break;
        }
        case 's': /* SETITEM */
            if (p->depth < 3) return fail(r, "bad SETITEM");
            b = pop(p), c = pop(p), a = p->stack[p->depth - 1];
            if (a->kind == DFI_PICKLE_DICT) {
                if (append_item(a, c) || append_item(a, b)) return -1;
            } else if (a->kind != DFI_PICKLE_OPAQUE) {
                return fail(r, "SETITEM on a value that is not a dict");
            }
            break;
        case 'R': /* REDUCE */
            if (p->depth < 2) return fail(r, "bad REDUCE");
            b = pop(p), a = pop(p);
            if ((c = reduce(p, r, a, b)) == NULL) return r->message[0] ? -1 : fail(r, "out of memory");
            if (push(p, c)) return -1;
            break;
        case 0x81: /* NEWOBJ: cls.__new__(cls, *args); only placeholders are made */
            if (p->depth < 2) return fail(r, "bad NEWOBJ");
            b = pop(p), a = pop(p);
            if (a->kind != DFI_PICKLE_GLOBAL) return fail(r, "NEWOBJ on something that is not a global");
            if (push(p, new_value(p, DFI_PICKLE_OPAQUE))) return -1;
            break;
        case 'b': /* BUILD: the state of dicts, tensors and placeholders is not needed */
            if (p->depth < 2) return fail(r, "bad BUILD");
            pop(p);
            break;
        case 'Q': /* BINPERSID */
            if (p->depth < 1) return fail(r, "bad BINPERSID");
            a = pop(p);
            if ((b = persistent_load(p, r, a)) == NULL) return r->message[0] ? -1 : fail(r, "out of memory");
            if (push(p, b)) return -1;
            break;
        case '0': if (pop(p) == NULL) return fail(r, "bad POP"); break;
        case '.': /* STOP */
            if (p->depth != 1) return fail(r, "STOP with a malformed stack");
            *root = p->stack[0];
            return 0;
        default:
            snprintf(r->message, sizeof r->message, "unsupported pickle opcode 0x%02x", op);
            return -1;
        }
    }
    return fail(r, "the pickle ends without STOP (truncated?)");
}

df_status dfi_unpickle(const unsigned char *bytes, size_t size, dfi_pickle **out, const dfi_pickle_value **root) {
    dfi_pickle *p = calloc(1, sizeof *p);
    if (p == NULL) return dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    reader r = {.at = bytes, .end = bytes + size};
    if (run(p, &r, root) != 0) {
        dfi_pickle_free(p);
        return dfi_error(DF_E_FORMAT, "data.pkl: %s", r.message[0] ? r.message : "out of memory");
    }
    *out = p;
    return DF_OK;
}
