/*
 * convert_ggml.c — llama.cpp's pre-GGUF llama files (GGML, GGMF v1, GGJT
 * v1-v3) → GGUF, as llama.cpp's convert_llama_ggml_to_gguf.py does it:
 *
 *   magic u32 ("lmgg" bytes = 'ggml', "fmgg" = 'ggmf', "tjgg" = 'ggjt'),
 *   version u32 (not in GGML), 7 u32 hyper-parameters (n_vocab, n_embd,
 *   n_mult, n_head, n_layer, n_rot, ftype), n_vocab tokens (u32 length,
 *   bytes, then f32 score except in GGML), then tensors to the end of the
 *   file: n_dims, name length, type (u32 each), n_dims u32 sizes (ne0
 *   first), the name, padding to a multiple of 32 bytes of the file (GGJT
 *   only), and the data.
 *
 * Tensor data is copied unchanged (quantized blocks bit for bit) where its
 * layout is GGUF's; the types whose blocks changed since are refused.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authoring/convert_legacy.h"
#include "tensor/types.h"
#include "util/error.h"

enum { FORMAT_GGML, FORMAT_GGMF, FORMAT_GGJT };
static const char *const format_names[] = {"GGML", "GGMF", "GGJT"};

#define MAX_TOKEN_BYTES 4096u /* llama.cpp's "absurd vocab item length" */
#define MAX_NAME_BYTES 255u
#define MAX_VOCAB (1u << 24)

/* The file types (llama_ftype) a legacy file can declare, by id. */
static const char *ftype_name(uint32_t ftype) {
    static const char *const names[] = {
        "ALL_F32",
        "MOSTLY_F16",
        "MOSTLY_Q4_0",
        "MOSTLY_Q4_1",
        "MOSTLY_Q4_1_SOME_F16",
        NULL,
        NULL,
        "MOSTLY_Q8_0",
        "MOSTLY_Q5_0",
        "MOSTLY_Q5_1",
        "MOSTLY_Q2_K",
        "MOSTLY_Q3_K_S",
        "MOSTLY_Q3_K_M",
        "MOSTLY_Q3_K_L",
        "MOSTLY_Q4_K_S",
        "MOSTLY_Q4_K_M",
        "MOSTLY_Q5_K_S",
        "MOSTLY_Q5_K_M",
        "MOSTLY_Q6_K",
    };
    return ftype < sizeof names / sizeof names[0] ? names[ftype] : NULL;
}

/* Whether a tensor of this type can be carried over from this format
 * version: before GGJT v2 every quantization had other blocks (Q4 nibble
 * order), GGJT v2's Q4_0, Q4_1 and Q8_0 kept float32 scales (float16 in v3);
 * Q5_0/Q5_1 (born in v2) and the K-quants (born in v3) are unchanged. */
static const char *type_refusal(int format, uint32_t version, uint32_t type) {
    if (type == TL_TYPE_F32 || type == TL_TYPE_F16) return NULL;
    const bool quant_ok = format == FORMAT_GGJT && version >= 2;
    switch (type) {
    case TL_TYPE_Q4_0:
    case TL_TYPE_Q4_1:
    case TL_TYPE_Q8_0:
        if (format == FORMAT_GGJT && version >= 3) return NULL;
        return quant_ok ? "its blocks changed in GGJT v3 (float16 scales); they cannot be carried over exactly"
                        : "quantized blocks changed in GGJT v2; only F32 and F16 files older than GGJT v2 "
                          "convert";
    case TL_TYPE_Q5_0:
    case TL_TYPE_Q5_1:
        return quant_ok ? NULL
                        : "quantized blocks changed in GGJT v2; only F32 and F16 files older than GGJT v2 convert";
    case TL_TYPE_Q2_K:
    case TL_TYPE_Q3_K:
    case TL_TYPE_Q4_K:
    case TL_TYPE_Q5_K:
    case TL_TYPE_Q6_K: return format == FORMAT_GGJT && version >= 3 ? NULL : "K-quants appeared in GGJT v3";
    default: return "it is not a type legacy llama files hold";
    }
}

/* Legacy tensor name → GGUF name (llama.cpp's llama tensor map); false if
 * the name is not a llama tensor or its layer is out of range. */
typedef struct name_pair {
    const char *legacy, *gguf;
} name_pair;

static bool map_name(const char *name, uint32_t n_layer, char *out, size_t out_size) {
    static const name_pair global[] = {
        {"tok_embeddings.weight", "token_embd.weight"},
        {"norm.weight", "output_norm.weight"},
        {"output.weight", "output.weight"},
    };
    static const name_pair per_layer[] = {
        {"attention.wq.weight", "attn_q.weight"},      {"attention.wk.weight", "attn_k.weight"},
        {"attention.wv.weight", "attn_v.weight"},      {"attention.wo.weight", "attn_output.weight"},
        {"attention_norm.weight", "attn_norm.weight"}, {"feed_forward.w1.weight", "ffn_gate.weight"},
        {"feed_forward.w2.weight", "ffn_down.weight"}, {"feed_forward.w3.weight", "ffn_up.weight"},
        {"ffn_norm.weight", "ffn_norm.weight"},
    };
    for (size_t i = 0; i < sizeof global / sizeof global[0]; i++) {
        if (strcmp(name, global[i].legacy) == 0) {
            snprintf(out, out_size, "%s", global[i].gguf);
            return true;
        }
    }
    if (strncmp(name, "layers.", 7) != 0) return false;
    /* "layers.N." with N a decimal below n_layer, no sign, no leading zero */
    const char *p = name + 7;
    uint64_t layer = 0;
    size_t digits = 0;
    while (p[digits] >= '0' && p[digits] <= '9' && digits < 10) layer = layer * 10 + (uint64_t)(p[digits++] - '0');
    if (digits == 0 || (digits > 1 && p[0] == '0') || p[digits] != '.' || layer >= n_layer) return false;
    for (size_t i = 0; i < sizeof per_layer / sizeof per_layer[0]; i++) {
        if (strcmp(p + digits + 1, per_layer[i].legacy) == 0) {
            snprintf(out, out_size, "blk.%" PRIu64 ".%s", layer, per_layer[i].gguf);
            return true;
        }
    }
    return false;
}

typedef struct ggml_header {
    int format;
    uint32_t version;
    uint32_t n_vocab, n_embd, n_mult, n_head, n_layer, n_rot, ftype;
    const char *ftype_name;
} ggml_header;

static tl_status read_header(legacy_input *in, ggml_header *h, tl_error *err) {
    uint32_t magic;
    TL_TRY(legacy_read_u32(in, &magic, "the magic", err));
    if (magic == 0x46554747u) /* "GGUF" */
        return tl_fail(err, TL_ERR_FORMAT, "%s: already a GGUF file; nothing to convert", in->path);
    if (magic == 0x67676d6cu) {
        h->format = FORMAT_GGML;
        h->version = 1;
    } else if (magic == 0x67676d66u || magic == 0x67676a74u) {
        h->format = magic == 0x67676d66u ? FORMAT_GGMF : FORMAT_GGJT;
        TL_TRY(legacy_read_u32(in, &h->version, "the version", err));
        uint32_t max = h->format == FORMAT_GGMF ? 1 : 3;
        if (h->version < 1 || h->version > max)
            return tl_fail(err, TL_ERR_UNSUPPORTED,
                           "%s: offset 4: unknown %s version %" PRIu32 " (known: 1 to %" PRIu32 ")", in->path,
                           format_names[h->format], h->version, max);
    } else {
        return tl_fail(err, TL_ERR_FORMAT, "%s: offset 0: not a GGML, GGMF or GGJT file (magic 0x%08" PRIx32 ")",
                       in->path, magic);
    }
    uint32_t *fields[] = {&h->n_vocab, &h->n_embd, &h->n_mult, &h->n_head, &h->n_layer, &h->n_rot, &h->ftype};
    const uint64_t at = in->pos;
    for (size_t i = 0; i < 7; i++) TL_TRY(legacy_read_u32(in, fields[i], "the hyper-parameters", err));
    h->ftype_name = ftype_name(h->ftype);
    if (!h->ftype_name)
        return tl_fail(err, TL_ERR_FORMAT, "%s: offset %" PRIu64 ": unknown file type (ftype) %" PRIu32, in->path,
                       at + 24, h->ftype);
    if (h->n_vocab < 3 || h->n_vocab > MAX_VOCAB || h->n_embd == 0 || h->n_head == 0 || h->n_layer == 0 ||
        h->n_embd % h->n_head != 0)
        return tl_fail(err, TL_ERR_FORMAT,
                       "%s: offset %" PRIu64 ": bad hyper-parameters (n_vocab %" PRIu32 ", n_embd %" PRIu32
                       ", n_head %" PRIu32 ", n_layer %" PRIu32 ")",
                       in->path, at, h->n_vocab, h->n_embd, h->n_head, h->n_layer);
    return TL_OK;
}

static tl_status read_vocab(legacy_input *in, const ggml_header *h, legacy_vocab *v, tl_error *err) {
    TL_TRY(legacy_vocab_init(v, h->n_vocab, err));
    for (uint32_t id = 0; id < h->n_vocab; id++) {
        const uint64_t at = in->pos;
        uint32_t len;
        float score = 0.0f;
        TL_TRY(legacy_read_u32(in, &len, "a token's length", err));
        if (len >= MAX_TOKEN_BYTES)
            return tl_fail(err, TL_ERR_FORMAT, "%s: offset %" PRIu64 ": token %" PRIu32 " is %" PRIu32 " bytes long",
                           in->path, at, id, len);
        const uint8_t *text = legacy_take(in, len, "a token", err);
        if (!text) return TL_ERR_FORMAT;
        if (h->format != FORMAT_GGML) TL_TRY(legacy_read_f32(in, &score, "a token's score", err));
        TL_TRY(legacy_vocab_set(v, id, text, len, score, id >= 3 && id <= 258 && len == 1, in->path, err));
    }
    return TL_OK;
}

/* What the header does not say, read off layer 0's shapes. */
typedef struct layer0_shapes {
    uint32_t n_ff;   /* rows of feed_forward.w1 */
    uint32_t k_rows; /* rows of attention.wk: n_head_kv x head size */
} layer0_shapes;

/* One tensor: its header, then its data added to the writer. */
static tl_status read_tensor(legacy_input *in, const ggml_header *h, gguf_writer *w, layer0_shapes *shapes,
                             tl_error *err) {
    const uint64_t at = in->pos;
    uint32_t n_dims, name_len, type, dims[4];
    TL_TRY(legacy_read_u32(in, &n_dims, "a tensor header", err));
    TL_TRY(legacy_read_u32(in, &name_len, "a tensor header", err));
    TL_TRY(legacy_read_u32(in, &type, "a tensor header", err));
    if (n_dims < 1 || n_dims > 4 || name_len == 0 || name_len > MAX_NAME_BYTES)
        return tl_fail(err, TL_ERR_FORMAT,
                       "%s: offset %" PRIu64 ": bad tensor header (%" PRIu32 " dimensions, name of %" PRIu32 " bytes)",
                       in->path, at, n_dims, name_len);
    int64_t ne[4] = {1, 1, 1, 1};
    uint64_t n_elements = 1;
    for (uint32_t d = 0; d < n_dims; d++) {
        TL_TRY(legacy_read_u32(in, &dims[d], "a tensor header", err));
        if (dims[d] == 0)
            return tl_fail(err, TL_ERR_FORMAT, "%s: offset %" PRIu64 ": tensor dimension %" PRIu32 " is 0", in->path,
                           at, d);
        ne[d] = dims[d];
        if (n_elements > (UINT64_C(1) << 48) / dims[d]) /* far beyond any file; no overflow below */
            return tl_fail(err, TL_ERR_FORMAT, "%s: offset %" PRIu64 ": tensor too large", in->path, at);
        n_elements *= dims[d];
    }
    const uint8_t *name_bytes = legacy_take(in, name_len, "a tensor name", err);
    if (!name_bytes) return TL_ERR_FORMAT;
    char name[MAX_NAME_BYTES + 1], gguf_name[MAX_NAME_BYTES + 16];
    memcpy(name, name_bytes, name_len);
    name[name_len] = '\0';
    if (strlen(name) != name_len || !map_name(name, h->n_layer, gguf_name, sizeof gguf_name))
        return tl_fail(err, TL_ERR_FORMAT,
                       "%s: offset %" PRIu64 ": tensor '%s' is not a llama tensor of %" PRIu32 " layers", in->path, at,
                       name, h->n_layer);
    const char *refusal = type_refusal(h->format, h->version, type);
    if (refusal) {
        const tl_type_traits *tt = tl_type_traits_of(type);
        return tl_fail(err, TL_ERR_UNSUPPORTED,
                       "%s: offset %" PRIu64 ": tensor '%s' is %s in a %s v%" PRIu32 " file: %s", in->path, at, name,
                       tt && tt->name ? tt->name : "of an unknown type", format_names[h->format], h->version, refusal);
    }
    const tl_type_traits *tt = tl_type_traits_of(type);
    if (ne[0] % tt->block_size != 0)
        return tl_fail(err, TL_ERR_FORMAT,
                       "%s: offset %" PRIu64 ": tensor '%s' has rows of %" PRId64
                       ", not a multiple of %s's blocks of %" PRId64,
                       in->path, at, name, ne[0], tt->name, tt->block_size);
    if (h->format == FORMAT_GGJT) {
        uint64_t pad = (32 - in->pos % 32) % 32;
        if (!legacy_take(in, pad, "the padding before a tensor's data", err)) return TL_ERR_FORMAT;
    }
    const uint64_t n_bytes = n_elements / (uint64_t)tt->block_size * tt->block_bytes;
    if (n_bytes > in->size - in->pos)
        return tl_fail(err, TL_ERR_FORMAT,
                       "%s: offset %" PRIu64 ": the data of tensor '%s' (%" PRIu64
                       " bytes) runs past the end of the file (%" PRIu64 " bytes)",
                       in->path, in->pos, name, n_bytes, in->size);
    const uint8_t *data = legacy_take(in, n_bytes, "tensor data", err);
    if (strcmp(name, "tok_embeddings.weight") == 0 && (n_dims != 2 || dims[0] != h->n_embd || dims[1] != h->n_vocab))
        return tl_fail(err, TL_ERR_FORMAT,
                       "%s: offset %" PRIu64 ": tok_embeddings.weight is not %" PRIu32 " x %" PRIu32
                       " (n_embd x n_vocab of the header)",
                       in->path, at, h->n_embd, h->n_vocab);
    if (strcmp(name, "layers.0.feed_forward.w1.weight") == 0) shapes->n_ff = n_dims >= 2 ? dims[1] : 0;
    if (strcmp(name, "layers.0.attention.wk.weight") == 0) shapes->k_rows = n_dims >= 2 ? dims[1] : 0;
    tl_error add_err;
    tl_status st = gguf_writer_add_tensor(w, gguf_name, type, n_dims, ne, data, &add_err);
    if (st != TL_OK) return tl_fail(err, st, "%s: offset %" PRIu64 ": %s", in->path, at, add_err.message);
    return TL_OK;
}

static tl_status convert(legacy_input *in, const char *out_path, const tl_convert_legacy_options *o,
                         legacy_vocab *vocab, gguf_writer *w, tl_error *err) {
    ggml_header h;
    TL_TRY(read_header(in, &h, err));
    if (h.format != FORMAT_GGJT || h.version < 2) {
        if (h.ftype > 1)
            return tl_fail(err, TL_ERR_UNSUPPORTED,
                           "%s: a %s v%" PRIu32 " file of type %s: quantized blocks changed in GGJT v2; only F32 and "
                           "F16 files older than GGJT v2 convert",
                           in->path, format_names[h.format], h.version, h.ftype_name);
    }
    if (o && o->gqa && h.n_head % o->gqa != 0)
        return tl_fail(err, TL_ERR_ARGUMENT, "%s: n_head %" PRIu32 " is not a multiple of the gqa factor %" PRIu32,
                       in->path, h.n_head, o->gqa);
    TL_TRY(read_vocab(in, &h, vocab, err));

    layer0_shapes shapes = {0, 0};
    uint32_t n_tensors = 0;
    while (in->pos < in->size) {
        TL_TRY(read_tensor(in, &h, w, &shapes, err));
        n_tensors++;
    }
    if (n_tensors == 0) return tl_fail(err, TL_ERR_FORMAT, "%s: offset %" PRIu64 ": no tensors", in->path, in->pos);
    if (shapes.n_ff == 0)
        return tl_fail(err, TL_ERR_FORMAT, "%s: no 2-dimensional layers.0.feed_forward.w1.weight (the FFN size)",
                       in->path);
    /* n_head_kv: the option's, else what layer 0's wk holds (llama.cpp's
     * script asks for --gqa instead), else n_head. */
    const uint32_t head_size = h.n_embd / h.n_head;
    uint32_t n_head_kv = h.n_head;
    if (o && o->gqa)
        n_head_kv = h.n_head / o->gqa;
    else if (shapes.k_rows)
        n_head_kv = shapes.k_rows / head_size;
    if (n_head_kv == 0 || h.n_head % n_head_kv != 0 || (shapes.k_rows && shapes.k_rows != n_head_kv * head_size))
        return tl_fail(err, TL_ERR_FORMAT,
                       "%s: layers.0.attention.wk.weight has %" PRIu32 " rows, not n_head_kv x %" PRIu32
                       " with n_head_kv %" PRIu32 " dividing n_head %" PRIu32,
                       in->path, shapes.k_rows, head_size, n_head_kv, h.n_head);

    const char *base = strrchr(in->path, '/');
    char desc[128];
    snprintf(desc, sizeof desc, "converted from legacy %sv%" PRIu32 " %s format", format_names[h.format], h.version,
             h.ftype_name);
    gguf_writer_set_str(w, "general.architecture", "llama");
    gguf_writer_set_str(w, "general.name", o && o->name ? o->name : base ? base + 1 : in->path);
    gguf_writer_set_str(w, "general.description", desc);
    gguf_writer_set_u32(w, "general.file_type", h.ftype);
    gguf_writer_set_u32(w, "llama.context_length", o && o->context_length ? o->context_length : 2048);
    gguf_writer_set_u32(w, "llama.embedding_length", h.n_embd);
    gguf_writer_set_u32(w, "llama.block_count", h.n_layer);
    gguf_writer_set_u32(w, "llama.feed_forward_length", shapes.n_ff);
    gguf_writer_set_u32(w, "llama.rope.dimension_count", h.n_embd / h.n_head);
    gguf_writer_set_u32(w, "llama.attention.head_count", h.n_head);
    gguf_writer_set_u32(w, "llama.attention.head_count_kv", n_head_kv);
    gguf_writer_set_f32(w, "llama.attention.layer_norm_rms_epsilon", o && o->rms_eps > 0 ? o->rms_eps : 5e-6f);
    legacy_vocab_write(vocab, w);
    gguf_writer_set_str(w, "tokenizer.ggml.pre", "default");
    return legacy_write_gguf(w, out_path, err);
}

tl_status tl_convert_ggml(const char *path, const char *out_path, const tl_convert_legacy_options *options,
                          tl_error *err) {
    legacy_input in;
    TL_TRY(legacy_input_open(&in, path, err));
    gguf_writer *w = gguf_writer_new();
    legacy_vocab vocab = {0};
    tl_status st = w ? convert(&in, out_path, options, &vocab, w, err) : tl_fail(err, TL_ERR_NOMEM, "out of memory");
    legacy_vocab_free(&vocab);
    gguf_writer_free(w);
    legacy_input_close(&in);
    return st;
}
