/*
 * limits.h — the limits that more than one place checks or documents, each
 * named once: a context's size and its default, threads, sequences, tokens
 * per forward pass. The library refuses what passes them (tl_context_new);
 * the CLI's option parser and the server's request checks use the same names
 * so that they refuse exactly what the library would.
 */
#ifndef TL_LIMITS_H
#define TL_LIMITS_H

/* Most positions of one context (-c / --ctx-size, num_ctx). */
#define TL_MAX_CTX (1u << 20)
/* A context size of 0 means the model's trained length, but at most this. */
#define TL_DEFAULT_CTX_CAP 4096u
/* Most tokens per forward pass (-b / --batch-size); a batch is also cut to the context. */
#define TL_MAX_BATCH TL_MAX_CTX
/* Most worker threads of one context (-t / --threads). */
#define TL_MAX_THREADS 256u
/* Most sequences that share one context (the server's slots). */
#define TL_MAX_SEQUENCES 256u
/* Tokenizing n bytes first tries room for min(n, this) + 8 tokens (a token
 * per byte and the specials); tl_tokenize says when it needs more. */
#define TL_TOKENS_FIRST_GUESS_MAX (1u << 28)

#endif /* TL_LIMITS_H */
