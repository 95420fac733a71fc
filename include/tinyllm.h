/*
 * tinyllm.h — the public API of libtinyllm.
 *
 * tinyllm runs small language models stored as GGUF files on the CPU. The API
 * is a handful of opaque handles:
 *
 *   tl_model    a loaded (memory-mapped) model: weights, hyper-parameters and
 *               vocabulary. Read-only once loaded; may be shared by contexts.
 *   tl_context  the mutable state for evaluating a model: KV cache, scratch
 *               buffers and the logits of the last evaluation.
 *   tl_sampler  picks the next token from logits (greedy, temperature, top-k,
 *               typical-p, top-p, min-p, Mirostat 1 and 2, penalties, logit
 *               bias), seeded and repeatable.
 *   tl_generator one reply of one sequence: sampling, end-of-generation and
 *               stop strings, streaming UTF-8 text, length and context
 *               limits (see "Generation" below).
 *
 * Conventions: every call that can fail returns a tl_status and, when given a
 * tl_error, fills it with a one-line message naming what is wrong. The library
 * never prints, never exits and never aborts on bad input.
 */
#ifndef TINYLLM_H
#define TINYLLM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TL_VERSION "0.1.0"

/* TL_API marks every function of the library's API. The library is compiled
 * with hidden visibility, so libtinyllm.so exports these and nothing else
 * (scripts/check-exports.sh). */
#if defined(__GNUC__) || defined(__clang__)
#define TL_API __attribute__((visibility("default")))
#else
#define TL_API
#endif

typedef int32_t tl_token;

typedef enum tl_status {
    TL_OK = 0,
    TL_ERR_IO,           /* file could not be opened, read or mapped */
    TL_ERR_FORMAT,       /* file is malformed or inconsistent */
    TL_ERR_UNSUPPORTED,  /* valid, but uses something tinyllm does not implement */
    TL_ERR_ARGUMENT,     /* a caller-supplied value is out of range */
    TL_ERR_NOMEM,        /* an allocation failed */
    TL_ERR_CONTEXT_FULL, /* the tokens do not fit in the context window */
} tl_status;

typedef struct tl_error {
    tl_status status;
    char message[512];
} tl_error;

/* A human-readable name for a status ("format error", ...). */
TL_API const char *tl_status_name(tl_status status);

/* ------------------------------------------------------------------------ */
/* Models                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct tl_model tl_model;

typedef struct tl_model_params {
    bool vocab_only; /* load metadata and vocabulary only: no tensors needed */
} tl_model_params;

TL_API tl_model_params tl_model_default_params(void);

TL_API tl_status tl_model_load(const char *path, const tl_model_params *params, tl_model **out, tl_error *err);
TL_API void tl_model_free(tl_model *model);

/* What `tinyllm info` prints. Strings belong to the model. */
typedef struct tl_model_info {
    const char *path;
    const char *architecture; /* general.architecture */
    const char *name;         /* general.name, or "" */
    uint32_t gguf_version;
    uint64_t file_size; /* bytes */
    uint64_t n_params;  /* total elements of all tensors */
    uint64_t n_tensors;
    uint64_t n_metadata;
    const char *vocab_type;    /* tokenizer.ggml.model: llama, gpt2, ... */
    const char *pre_tokenizer; /* tokenizer.ggml.pre, or "" */
    int32_t n_vocab;
    uint32_t context_length; /* trained context length */
    uint32_t n_embd, n_layer, n_head, n_head_kv, n_ff;
    bool has_chat_template;
    /* Tensor count per GGUF type id (index = ggml type id, 0..63). */
    uint64_t tensors_per_type[64];
    /* Bytes of weights one generated token reads: every matrix (2-D tensor),
     * except the embedding table when a separate output matrix exists
     * (only one row of it is read per token). */
    uint64_t bytes_per_token;
    /* The type holding most of the matrix bytes ("q4_k" in a Q4_K_M file). */
    uint32_t main_weight_type;
    bool has_encoder; /* BERT-style encoders and T5-style encoder-decoders */
    bool has_decoder; /* generates text (false for embedding-only encoders) */
    int32_t pooling;  /* the model's tl_pooling (<arch>.pooling_type) */
} tl_model_info;

TL_API void tl_model_get_info(const tl_model *model, tl_model_info *info);
/* The name of a GGUF tensor type id ("f32", "q8_0", ...), or NULL if unknown. */
TL_API const char *tl_type_name(uint32_t type_id);
/* The type id of a type name ("q4_0", any case), or -1. */
TL_API int32_t tl_type_from_name(const char *name);

/* Read a metadata value as a string (numbers are formatted). Returns false if
 * the key is absent or is an array. */
TL_API bool tl_model_meta_string(const tl_model *model, const char *key, char *buf, size_t buf_size);

/* ------------------------------------------------------------------------ */
/* Vocabulary                                                               */
/* ------------------------------------------------------------------------ */

TL_API int32_t tl_vocab_size(const tl_model *model);
TL_API tl_token tl_token_bos(const tl_model *model); /* -1 when the vocab has none */
TL_API tl_token tl_token_eos(const tl_model *model);
/* True for end-of-generation tokens: EOS plus EOT/EOM and the like. */
TL_API bool tl_token_is_eog(const tl_model *model, tl_token token);
/* The vocabulary's own add_bos_token / add_eos_token preferences. */
TL_API bool tl_vocab_adds_bos(const tl_model *model);
TL_API bool tl_vocab_adds_eos(const tl_model *model);

/*
 * Tokenize `text_len` bytes of UTF-8 `text` into at most `max_tokens` ids.
 * add_special: add BOS/EOS as the vocabulary asks.
 * parse_special: recognise control tokens (e.g. "<|im_end|>") written in the text.
 * Returns the number of tokens; if more than max_tokens are needed, returns
 * minus the number needed and writes nothing useful. A negative value can
 * also be returned with *err set for invalid input (not valid UTF-8 is fine:
 * bytes are tokenized as bytes).
 */
TL_API int32_t tl_tokenize(const tl_model *model, const char *text, size_t text_len, bool add_special,
                           bool parse_special, tl_token *tokens, int32_t max_tokens);

/*
 * Tokenize a prompt that must fit in `max_tokens` (typically the context
 * size): for text that fits, exactly tl_tokenize's tokens, their count in
 * *n_tokens. Text that does not fit fails with TL_ERR_CONTEXT_FULL and
 * "the prompt is too long: more than N tokens" as soon as that is certain,
 * without tokenizing the rest: SentencePiece and BPE vocabularies refuse it
 * from its byte length alone when no token could cover that many bytes
 * (a 50 MB prompt in milliseconds), and every vocabulary stops between
 * special tokens (and WordPiece between words) once past max_tokens. So
 * the work and memory it costs are in proportion to max_tokens rather than
 * text_len for all but texts built to defeat the byte bound (long runs that
 * normalization drops, Unigram text without special tokens).
 * TL_ERR_NOMEM when out of memory.
 */
TL_API tl_status tl_tokenize_prompt(const tl_model *model, const char *text, size_t text_len, bool add_special,
                                    bool parse_special, tl_token *tokens, int32_t max_tokens, int32_t *n_tokens,
                                    tl_error *err);

/*
 * The bytes a token stands for (SentencePiece '▁' → ' ', byte tokens → the
 * byte, BPE byte mapping undone). Control tokens produce their text only when
 * `special` is true. Returns the number of bytes, or minus the size needed.
 */
TL_API int32_t tl_token_to_piece(const tl_model *model, tl_token token, bool special, char *buf, int32_t buf_size);

/*
 * Detokenize a whole sequence (applies the SentencePiece leading-space rule
 * when remove_leading_space is set). Returns bytes written or minus needed.
 */
TL_API int32_t tl_detokenize(const tl_model *model, const tl_token *tokens, int32_t n_tokens, bool special,
                             bool remove_leading_space, char *buf, int32_t buf_size);

/* ------------------------------------------------------------------------ */
/* Contexts and evaluation                                                  */
/* ------------------------------------------------------------------------ */

typedef struct tl_context tl_context;

typedef struct tl_context_params {
    uint32_t n_ctx;     /* KV cache size in tokens; 0 = min(model's, 4096) */
    uint32_t n_batch;   /* most tokens evaluated in one forward pass; 0 = 512 (an encoder: */
                        /* its n_ctx, or more to pack inputs for tl_embed_batch) */
    uint32_t n_threads; /* 0 = number of physical cores */
    uint32_t type_k;    /* KV cache element types, as GGUF type ids: f32 (0), */
    uint32_t type_v;    /* f16 (1, the default) or q8_0 (8; needs head size % 32 == 0) */
    uint32_t n_seq;     /* independent sequences (conversations), each with its own
                           n_ctx positions of KV cache; 0 = 1. Decoder-only models. */
} tl_context_params;

TL_API tl_context_params tl_context_default_params(void);

TL_API tl_status tl_context_new(const tl_model *model, const tl_context_params *params, tl_context **out,
                                tl_error *err);
TL_API void tl_context_free(tl_context *ctx);
TL_API uint32_t tl_context_size(const tl_context *ctx);
/* Number of positions currently held in the KV cache. */
TL_API uint32_t tl_context_used(const tl_context *ctx);
/* Forget every cached position from `pos` on (0 clears the cache). */
TL_API void tl_context_truncate(tl_context *ctx, uint32_t pos);

/*
 * Evaluate `n_tokens` tokens at positions `start_pos`, `start_pos+1`, ...
 * (start_pos must equal tl_context_used: positions are appended in order).
 * Logits are kept for the last token, or for every token when all_logits.
 * Fails with TL_ERR_CONTEXT_FULL if they do not fit in the context.
 */
TL_API tl_status tl_decode(tl_context *ctx, const tl_token *tokens, int32_t n_tokens, uint32_t start_pos,
                           bool all_logits, tl_error *err);
/* Logits of the i-th token of the last tl_decode (-1 = the last token);
 * n_vocab floats, valid until the next tl_decode. NULL if not kept. After
 * tl_decode_batch, i counts the tokens whose logits were asked for. */
TL_API const float *tl_get_logits(const tl_context *ctx, int32_t i);

/*
 * Several sequences at once (a context made with n_seq > 1): token i belongs
 * to sequence seq[i] and is appended at that sequence's next position, so the
 * tokens of one sequence must be in order. Every token goes through the
 * weights in the same forward passes (of up to n_batch tokens), which is what
 * makes serving N conversations cheaper than N separate passes. Logits are
 * kept for the tokens with want_logits[i] set (NULL: none), in batch order.
 * tl_decode, tl_context_used and tl_context_truncate act on sequence 0.
 */
TL_API tl_status tl_decode_batch(tl_context *ctx, const tl_token *tokens, const int32_t *seq, const bool *want_logits,
                                 int32_t n_tokens, tl_error *err);
TL_API uint32_t tl_context_n_seq(const tl_context *ctx);
/* Positions cached for sequence `seq` (0 when seq is out of range). */
TL_API uint32_t tl_context_seq_used(const tl_context *ctx, int32_t seq);
/* Forget sequence `seq`'s positions from `pos` on (0 clears it). */
TL_API void tl_context_seq_truncate(tl_context *ctx, int32_t seq, uint32_t pos);
/* Bytes the context holds (KV cache, scratch, logits): for memory budgets. */
TL_API size_t tl_context_memory(const tl_context *ctx);

/* ------------------------------------------------------------------------ */
/* Embeddings and encoders                                                  */
/* ------------------------------------------------------------------------ */

/* How token vectors become one vector per input (llama.cpp's numbering). */
typedef enum tl_pooling {
    TL_POOLING_DEFAULT = -1, /* the model's own (<arch>.pooling_type) */
    TL_POOLING_NONE = 0,     /* one vector per token */
    TL_POOLING_MEAN = 1,
    TL_POOLING_CLS = 2,  /* the first token's */
    TL_POOLING_LAST = 3, /* the last token's */
    TL_POOLING_RANK = 4, /* rerankers: the classification head on the first token (tl_rank) */
} tl_pooling;

/* The pooling the model asks for (TL_POOLING_NONE when it says nothing). */
TL_API tl_pooling tl_model_pooling(const tl_model *model);
/* The pooling embeddings get when the caller asks for none in particular:
 * the model's own, else the last token's for a decoder (as embedding servers
 * pool causal models) and the mean for an encoder; never TL_POOLING_NONE.
 * A reranker's (rank) embeddings are its first token's (cls). */
TL_API tl_pooling tl_model_embedding_pooling(const tl_model *model);
/* Length of an embedding vector (the model's hidden size). */
TL_API uint32_t tl_model_embedding_size(const tl_model *model);
TL_API bool tl_model_has_encoder(const tl_model *model);
TL_API bool tl_model_has_decoder(const tl_model *model);
/* First token the decoder of an encoder-decoder reads (T5: the pad token);
 * -1 for other models. */
TL_API tl_token tl_model_decoder_start_token(const tl_model *model);
/* Name of a pooling ("mean") and the pooling of a name, or -2 if unknown. */
TL_API const char *tl_pooling_name(tl_pooling pooling);
TL_API int tl_pooling_from_name(const char *name);

/*
 * Embeddings of one input of n_tokens tokens, evaluated on its own (earlier
 * context is forgotten). Encoders use their output; decoder-only models the
 * hidden states after the final norm, as llama.cpp does. `out` receives
 * tl_model_embedding_size() floats, or n_tokens rows of them for
 * TL_POOLING_NONE; each vector L2-normalized when `normalize`. Fails with
 * TL_ERR_CONTEXT_FULL when the input does not fit the context. Rank pooling
 * is tl_rank's, not an embedding (TL_ERR_ARGUMENT).
 */
TL_API tl_status tl_embed(tl_context *ctx, const tl_token *tokens, int32_t n_tokens, tl_pooling pooling, bool normalize,
                          float *out, tl_error *err);
/*
 * Embeddings of n_seqs inputs (seqs[i]: lens[i] tokens), each as tl_embed
 * gives it on its own (equal within float rounding), into `out` one after
 * another (n_seqs vectors; for TL_POOLING_NONE the rows of every token).
 * BERT-family encoders evaluate as many inputs as fit the context's batch
 * (tl_context_params.n_batch, which for them may exceed n_ctx) in one
 * forward pass, each attending only to itself; other models take one pass
 * per input. Each input must fit the context (TL_ERR_CONTEXT_FULL).
 */
TL_API tl_status tl_embed_batch(tl_context *ctx, const tl_token *const *seqs, const int32_t *lens, int32_t n_seqs,
                                tl_pooling pooling, bool normalize, float *out, tl_error *err);

/*
 * Encoder-decoder models: run the encoder over the input and clear the
 * decoder's cache; then tl_decode the decoder start token and generate as
 * with any model. Fails on models without an encoder.
 */
TL_API tl_status tl_encode(tl_context *ctx, const tl_token *tokens, int32_t n_tokens, tl_error *err);
/* The last tl_encode's output: *n_tokens rows of tl_model_embedding_size()
 * floats, valid until the next tl_encode / tl_embed; NULL if none. */
TL_API const float *tl_get_encoder_output(const tl_context *ctx, int32_t *n_tokens);

/* ------------------------------------------------------------------------ */
/* Rerankers (cross-encoders)                                               */
/* ------------------------------------------------------------------------ */

/*
 * A reranker reads a query and a document as one input and scores how well
 * the document answers the query: BERT-family cross-encoders
 * (ms-marco-MiniLM, bge-reranker) with a classification head on the first
 * token, computed as llama.cpp's rank pooling does it: optional
 * cls = tanh(W·x + b), then cls.output = W·x + b, n outputs (the length of
 * `<arch>.classifier.output_labels`, default 1). The score is the first
 * output, raw (no sigmoid), as llama-server's relevance_score.
 */

/* Outputs of the model's classification head; 0 when it is not a reranker. */
TL_API int32_t tl_model_rank_outputs(const tl_model *model);

/*
 * The input of one query-document pair, as llama-server builds it: with a
 * `tokenizer.chat_template.rerank` template, the template with {query} and
 * {document} replaced, tokenized with special tokens parsed; otherwise
 * [BOS] query [EOS] [SEP] document [EOS], each special token where the
 * vocabulary adds it (BERT: [CLS] query [SEP] document) and EOS falling back
 * to SEP. At most max_tokens ids (their count in *n_tokens);
 * TL_ERR_CONTEXT_FULL when the pair needs more.
 */
TL_API tl_status tl_rank_tokenize(const tl_model *model, const char *query, const char *document, tl_token *tokens,
                                  int32_t max_tokens, int32_t *n_tokens, tl_error *err);

/* The head's tl_model_rank_outputs() outputs for one tokenized pair (the
 * context forgets any earlier input). TL_ERR_ARGUMENT for a model that is
 * not a reranker; TL_ERR_CONTEXT_FULL when the tokens do not fit. */
TL_API tl_status tl_rank(tl_context *ctx, const tl_token *tokens, int32_t n_tokens, float *outputs, tl_error *err);

/*
 * Scores of n_documents documents for one query: scores[i] is the first
 * output for (query, documents[i]). *n_tokens (may be NULL) receives the
 * number of tokens evaluated in all. A pair that does not fit the context
 * fails with TL_ERR_CONTEXT_FULL and a message naming the document's index.
 */
TL_API tl_status tl_rerank(tl_context *ctx, const char *query, const char *const *documents, int32_t n_documents,
                           float *scores, int64_t *n_tokens, tl_error *err);
/* The indices of n scores best first (equal scores in index order, NaN
 * last): order[0] is the index of the highest score. */
TL_API void tl_rank_order(const float *scores, int32_t n, int32_t *order);

/* ------------------------------------------------------------------------ */
/* Chat templates                                                           */
/* ------------------------------------------------------------------------ */

/* The model's tokenizer.chat_template (Jinja source), or NULL. */
TL_API const char *tl_model_chat_template(const tl_model *model);
/* The Jinja source of a built-in template ("chatml", "llama2", "llama3",
 * "phi3", "gemma", "mistral", "zephyr", "deepseek"), or NULL. */
TL_API const char *tl_chat_template_builtin(const char *name);
/* The built-in names, comma-separated. */
TL_API const char *tl_chat_template_builtin_names(void);

/*
 * Render a chat template as Hugging Face's apply_chat_template does.
 * context_json is a JSON object: "messages" (a list of {"role", "content",
 * ...}), and optionally "tools", "bos_token", "eos_token",
 * "add_generation_prompt" and any other variable the template reads. *out
 * receives the text (malloc'd, NUL-terminated; free() it). Template errors,
 * including raise_exception(), are one line naming the template line.
 */
TL_API tl_status tl_chat_render(const char *template_source, const char *context_json, char **out, size_t *out_len,
                                tl_error *err);

/*
 * What one render may use, so that a hostile template (a per-request
 * template, a model file's) fails cleanly instead of taking the process's
 * time or memory. 0 in a field means its default. Steps are units of work:
 * one per expression node, statement, loop iteration and macro call, plus
 * one per element or 64 bytes that an operation walks over. Memory counts
 * everything the render allocates (its copy of the context included).
 * Nesting depth is limited separately (fixed limits far below what a small
 * thread stack holds).
 */
typedef struct tl_chat_limits {
    uint64_t max_steps; /* default TL_CHAT_DEFAULT_MAX_STEPS */
    size_t max_memory;  /* bytes; default TL_CHAT_DEFAULT_MAX_MEMORY */
    size_t max_output;  /* bytes of rendered text; default TL_CHAT_DEFAULT_MAX_OUTPUT */
} tl_chat_limits;
#define TL_CHAT_DEFAULT_MAX_STEPS 10000000u
#define TL_CHAT_DEFAULT_MAX_MEMORY ((size_t)64 << 20)
#define TL_CHAT_DEFAULT_MAX_OUTPUT ((size_t)16 << 20)

/* tl_chat_render under `limits` (NULL: the defaults, as tl_chat_render). */
TL_API tl_status tl_chat_render_limited(const char *template_source, const char *context_json,
                                        const tl_chat_limits *limits, char **out, size_t *out_len, tl_error *err);

/* The text the template writes right after an assistant message, up to the
 * first whitespace ("<|im_end|>", "<|eot_id|>", "<end_of_turn>", or the
 * eos_token text for templates that close turns with it): where a reply
 * ends even when the vocabulary does not mark that text as an
 * end-of-generation token. *out (malloc'd) is "" when the template shows no
 * such text; a template that cannot render a user/assistant exchange fails
 * with its error. eos_token may be NULL (""). */
TL_API tl_status tl_chat_turn_end(const char *template_source, const char *eos_token, char **out, tl_error *err);

/* ------------------------------------------------------------------------ */
/* Sampling                                                                 */
/* ------------------------------------------------------------------------ */

typedef struct tl_logit_bias {
    tl_token token;
    float bias; /* -INFINITY forbids the token */
} tl_logit_bias;

typedef struct tl_sampler_params {
    float temperature;       /* <= 0: greedy */
    int32_t top_k;           /* <= 0: off */
    float top_p;             /* >= 1: off */
    float min_p;             /* 0: off; in [0, 1] */
    float repeat_penalty;    /* 1: off */
    int32_t repeat_last_n;   /* tokens of history the penalties look at; -1 = context */
    float presence_penalty;  /* 0: off */
    float frequency_penalty; /* 0: off */
    uint64_t seed;
    const tl_logit_bias *logit_bias; /* copied by tl_sampler_new */
    int32_t n_logit_bias;
    bool json_output;   /* only tokens that keep the reply a JSON object (Ollama's
                           format "json"); it ends when the object is complete */
    float typical_p;    /* locally typical sampling; >= 1: off; in [0, 1] */
    int32_t mirostat;   /* 0: off; 1: Mirostat; 2: Mirostat 2.0. When on, the draw
                           after temperature is Mirostat's and top-k, typical-p,
                           top-p and min-p are skipped (as llama.cpp does) */
    float mirostat_tau; /* target surprise (entropy) in bits; >= 0 */
    float mirostat_eta; /* learning rate of mu; >= 0 */
} tl_sampler_params;

typedef struct tl_sampler tl_sampler;

/* llama.cpp's defaults: temp 0.8, top-k 40, top-p 0.95, min-p 0.05,
 * repeat-penalty 1.0, repeat-last-n 64, seed 0xFFFFFFFF (random), typical-p
 * 1.0 (off), mirostat 0 (off), mirostat-tau 5.0, mirostat-eta 0.1. */
TL_API tl_sampler_params tl_sampler_default_params(void);
#define TL_SEED_RANDOM 0xFFFFFFFFu

TL_API tl_status tl_sampler_new(const tl_model *model, const tl_sampler_params *params, tl_sampler **out,
                                tl_error *err);
TL_API void tl_sampler_free(tl_sampler *s);
/* Pick a token from n_vocab logits (the logits are not modified). */
TL_API tl_token tl_sampler_sample(tl_sampler *s, const float *logits);
/* Record a token in the penalty history (prompt tokens and sampled ones). */
TL_API void tl_sampler_accept(tl_sampler *s, tl_token token);
/* Clear the penalty history and restart the random stream from the seed
 * (a fresh random seed when it was TL_SEED_RANDOM). */
TL_API void tl_sampler_reset(tl_sampler *s);
/* The seed in use (the one drawn when TL_SEED_RANDOM was asked for). */
TL_API uint64_t tl_sampler_seed(const tl_sampler *s);

/* ------------------------------------------------------------------------ */
/* Generation                                                               */
/* ------------------------------------------------------------------------ */

/*
 * Streaming detokenizer: feed tokens one at a time; it hands back only valid
 * UTF-8, holding back the bytes of a character split across tokens until it
 * is complete, and replacing bytes that can never form one with U+FFFD (one
 * per maximal ill-formed sequence, as WHATWG decoders do).
 */
typedef struct tl_detokenizer tl_detokenizer;
TL_API tl_detokenizer *tl_detokenizer_new(const tl_model *model, bool special);
/* Appends the token's bytes; returns a pointer to the complete text so far
 * that has not been returned before, and its length in *len. Valid until the
 * next call. */
TL_API const char *tl_detokenizer_push(tl_detokenizer *d, tl_token token, size_t *len);
/* Ends the text: an incomplete character still held back comes out as one
 * U+FFFD (the text is empty otherwise). */
TL_API const char *tl_detokenizer_flush(tl_detokenizer *d, size_t *len);
TL_API void tl_detokenizer_free(tl_detokenizer *d);

/*
 * A generator produces one reply of one sequence: it samples a token from
 * the logits, ends the reply at an end-of-generation token (unless
 * ignore_eos), feeds the token to the sampler's history, turns it into text
 * (valid UTF-8 only: the bytes of a character split across tokens wait for
 * the rest; bytes that never form one become U+FFFD), holds back text that
 * could still be the start of a stop string and cuts the reply before the
 * first one, and stops at n_predict tokens or when the sequence's context is
 * full. It never evaluates anything itself: it tells the caller which tokens
 * to evaluate next, at which positions, and takes back their logits. So one
 * generator serves a program that owns the decode (a server evaluating many
 * sequences in one batched forward pass, one generator per sequence) as well
 * as single-sequence programs, which let tl_generator_step or tl_generate
 * do the decode.
 *
 * Why "tokens to feed" rather than "the token sampled": a step policy other
 * than today's one-token step fits behind the same calls. Speculative
 * decoding (a draft model proposes k tokens; the target evaluates them in
 * one batch; the longest prefix the target agrees with is accepted, plus
 * one token of its own; both caches roll back the rest) is such a policy:
 * its event asks the caller to forget positions from feed_pos on and to
 * evaluate n_feed tokens there, asking logits for each, and the next call
 * gets those n_feed rows and accepts up to n_feed tokens (n_accepted). The
 * draft model and its cache would belong to the generator. Callers written
 * against this interface (truncate to feed_pos, evaluate feed[0..n_feed)
 * with logits for every one, pass the rows back) need no change. Today's
 * policy feeds exactly the one token accepted, at the position after the
 * cached ones, and consumes one row.
 *
 * A library user's streaming generation with stop strings:
 *
 *   tl_generator_params gp = tl_generator_default_params();
 *   const char *stops[] = {"\n\n"};
 *   gp.n_predict = 200;
 *   gp.stops = stops;
 *   gp.n_stops = 1;
 *   tl_stop_reason why;
 *   tl_generate(ctx, sampler, prompt, n_prompt, &gp, print_text, NULL, &why, &err);
 *
 * or, step by step, after evaluating the prompt with tl_decode:
 *
 *   tl_generator *g;
 *   tl_generator_new(model, sampler, &gp, &g, &err);
 *   tl_generator_begin(g, tl_context_used(ctx), tl_context_size(ctx));
 *   tl_generation_event ev = {0};
 *   while (!ev.stop && tl_generator_step(g, ctx, &ev, &err) == TL_OK)
 *       fwrite(ev.text, 1, ev.text_len, stdout);
 *   tl_generator_free(g);
 */

/* Why a reply ended. */
typedef enum tl_stop_reason {
    TL_STOP_NONE = 0,    /* it goes on */
    TL_STOP_EOG,         /* an end-of-generation token was sampled (not part of the reply) */
    TL_STOP_STOP_STRING, /* a stop string appeared; the text ends before it */
    TL_STOP_LENGTH,      /* n_predict tokens were generated */
    TL_STOP_CONTEXT,     /* the sequence's context is full */
    TL_STOP_CANCELLED,   /* tl_generator_cancel, or tl_generate's callback returned false */
    TL_STOP_ERROR,       /* evaluation failed or memory ran out (see the tl_error) */
} tl_stop_reason;

/* "none", "eog", "stop", "length", "context", "cancelled" or "error". */
TL_API const char *tl_stop_reason_name(tl_stop_reason reason);

typedef struct tl_generator_params {
    int32_t n_predict;        /* most tokens in the reply; < 0: no limit but the context */
    bool ignore_eos;          /* end-of-generation tokens are ordinary tokens */
    bool special;             /* control tokens' text appears in the reply */
    const char *const *stops; /* stop strings (copied; "" is ignored); the reply is cut before the first */
    int32_t n_stops;
} tl_generator_params;

/* n_predict -1, nothing else set. */
TL_API tl_generator_params tl_generator_default_params(void);

typedef struct tl_generator tl_generator;

/* A generator sampling with `sampler` (borrowed: the caller keeps it alive,
 * and primes its penalty history with the prompt if it wants that). */
TL_API tl_status tl_generator_new(const tl_model *model, tl_sampler *sampler, const tl_generator_params *params,
                                  tl_generator **out, tl_error *err);
TL_API void tl_generator_free(tl_generator *g);

/*
 * Starts a reply (forgetting any earlier one): the sequence holds n_past
 * positions, the last of which produced the logits the first
 * tl_generator_next consumes, and may hold n_ctx.
 */
TL_API void tl_generator_begin(tl_generator *g, uint32_t n_past, uint32_t n_ctx);

/* What one step did; pointers are valid until the generator's next call. */
typedef struct tl_generation_event {
    const char *text; /* text released by this step (may be empty) */
    size_t text_len;
    const tl_token *accepted; /* tokens this step added to the reply */
    int32_t n_accepted;
    bool sampled;         /* the step drew a token (an end-of-generation one included) */
    const tl_token *feed; /* tokens to evaluate next (tl_generator_step: evaluated), */
    int32_t n_feed;       /* asking logits for every one; none once stopped */
    uint32_t feed_pos;    /* ... at positions feed_pos, feed_pos + 1, ...: first forget
                             the sequence's positions from feed_pos on */
    int32_t n_generated;  /* tokens in the reply so far */
    tl_stop_reason stop;  /* TL_STOP_NONE while the reply goes on */
} tl_generation_event;

/*
 * One step from `logits`: n_rows rows of tl_vocab_size floats, the logits
 * of the positions the last event asked for (one row, the prompt's last,
 * for the first step). When the reply stops, the event's text includes
 * everything left (an incomplete character as U+FFFD, nothing past a stop
 * string). Fails (stop = TL_STOP_ERROR) when memory runs out or the rows do
 * not match what was asked for.
 */
TL_API tl_status tl_generator_next(tl_generator *g, const float *logits, int32_t n_rows, tl_generation_event *ev,
                                   tl_error *err);

/* For a single-sequence context (sequence 0): tl_generator_next on the
 * logits of ctx's last tl_decode, then the tokens to feed evaluated with
 * tl_decode (ev->stop = TL_STOP_ERROR if that fails). */
TL_API tl_status tl_generator_step(tl_generator *g, tl_context *ctx, tl_generation_event *ev, tl_error *err);

/* Ends the reply at the next step, after the token it draws (the text so far
 * is kept and released). Only sets a flag: safe from another thread. */
TL_API void tl_generator_cancel(tl_generator *g);

/* The reply's text released so far, *len bytes (all of it, NUL-terminated,
 * once the reply has stopped); valid until the generator's next call. */
TL_API const char *tl_generator_text(const tl_generator *g, size_t *len);

/* ------------------------------------------------------------------------ */
/* Speculative decoding                                                     */
/* ------------------------------------------------------------------------ */

/*
 * A drafter proposes the tokens that may come next; a generator given one
 * (tl_generator_set_drafter) feeds the token it accepted plus the drafted
 * ones in one evaluation, asks logits for each, and on the next step draws
 * from those rows in order, keeping drafted tokens while the draw equals
 * them: the longest agreeing prefix plus one token of the target's own.
 * Rejected positions are forgotten through the event's feed_pos, so callers
 * of tl_generator_next / tl_generator_step need no change.
 *
 * Exactness: drafts are deterministic (a draft model's greedy continuation,
 * or a lookup), so drawing from the target's own distribution at each row
 * and comparing is the speculative-sampling rejection rule for a one-point
 * draft distribution: the draft is kept with probability p(draft), and when
 * it is not the draw is from p with the draft removed. Every token is drawn
 * exactly as plain generation draws it, from the same history and the same
 * random stream, and short evaluations give the same logits as one-token
 * ones (see src/model/attention.c): the reply is identical, token for token,
 * to the reply without a drafter, greedy or sampled, for a given seed.
 */
typedef struct tl_draft_params {
    int32_t n_max; /* most tokens drafted per step (16); 0 turns drafting off */
    int32_t n_min; /* a draft shorter than this is dropped (0) */
    float p_min;   /* a draft model stops drafting when its best next token's
                      probability is below this (0.75); lookup ignores it */
    bool adaptive; /* draft as many tokens as pays, from the acceptance and the
                      measured costs of drafting and verifying, or none (true);
                      false: always up to n_max */
} tl_draft_params;

TL_API tl_draft_params tl_draft_default_params(void);

typedef struct tl_drafter tl_drafter;

/* Prompt lookup: drafts the tokens that followed the most recent earlier
 * occurrence of the sequence's last n tokens, n from n_gram down to 1,
 * searching the tokens the drafter was given and everything accepted since. */
TL_API tl_status tl_drafter_new_lookup(int32_t n_gram, const tl_draft_params *params, tl_drafter **out, tl_error *err);
/* A draft model: its greedy continuation, evaluated in draft_ctx (borrowed;
 * its sequence 0 belongs to the drafter). Fails when the draft's vocabulary
 * is not the target's (tl_draft_check_vocab). */
TL_API tl_status tl_drafter_new_model(tl_context *draft_ctx, const tl_model *target, const tl_draft_params *params,
                                      tl_drafter **out, tl_error *err);
TL_API void tl_drafter_free(tl_drafter *d);
/* The tokens the sequence holds before the reply (the prompt, and earlier
 * turns if the caller wants them searched or drafted from); copied. A draft
 * model evaluates them here, so call it with the target's prompt
 * evaluation, before the reply's first step. */
TL_API tl_status tl_drafter_begin(tl_drafter *d, const tl_token *tokens, int32_t n_tokens, tl_error *err);

/* Whether a draft model may draft for a target, as llama.cpp decides: the
 * same tokenizer kind and BOS/EOS handling, vocabulary sizes within 128, and
 * the same text for every token from id 5 up to the smaller size. Fails with
 * the first difference; when the vocabularies differ only in size (extra
 * tokens at the end, which are never drafted) it succeeds and writes a
 * one-line note (else note is ""). */
TL_API tl_status tl_draft_check_vocab(const tl_model *draft, const tl_model *target, char *note, size_t note_size,
                                      tl_error *err);

/* Attaches a drafter (borrowed; NULL detaches) from the next
 * tl_generator_begin on. Call tl_drafter_begin before each reply. */
TL_API void tl_generator_set_drafter(tl_generator *g, tl_drafter *d);

typedef struct tl_draft_stats {
    int64_t drafted;  /* tokens proposed and evaluated */
    int64_t accepted; /* of those, kept */
    int64_t steps;    /* evaluations that carried drafted tokens */
} tl_draft_stats;

/* Counts of the generator's current reply. */
TL_API tl_draft_stats tl_generator_draft_stats(const tl_generator *g);

/* Receives text as it is released; returns false to stop (TL_STOP_CANCELLED). */
typedef bool (*tl_text_fn)(void *user_data, const char *text, size_t len);

/*
 * The whole of a single-sequence generation: evaluates the prompt after what
 * ctx holds (sequence 0), records it in the sampler's history, and generates
 * until a stop, streaming the text to on_text (may be NULL). *reason (may be
 * NULL) says why it stopped. A decoder-only model; an encoder-decoder's
 * caller runs tl_encode and uses the generator directly.
 */
TL_API tl_status tl_generate(tl_context *ctx, tl_sampler *sampler, const tl_token *prompt, int32_t n_prompt,
                             const tl_generator_params *params, tl_text_fn on_text, void *user_data,
                             tl_stop_reason *reason, tl_error *err);

/* ------------------------------------------------------------------------ */
/* Utilities                                                                */
/* ------------------------------------------------------------------------ */

/* Wall-clock milliseconds from a monotonic clock. */
TL_API double tl_time_ms(void);
/* Number of physical cores (at least 1). */
TL_API int tl_physical_cores(void);

#ifdef __cplusplus
}
#endif

#endif /* TINYLLM_H */
