/*
 * main.c — `tinyllm COMMAND [options]`: dispatches to the commands.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"run", cmd_run, "generate text from a prompt"},
    {"info", cmd_info, "describe a GGUF model file"},
    {"tokenize", cmd_tokenize, "print the token ids of a text"},
    {"detokenize", cmd_detokenize, "print the text of token ids"},
    {"logits", cmd_logits, "print the top logits after a prompt"},
    {"embed", cmd_embed, "print embedding vectors of texts (sentence encoders and other models)"},
    {"rerank", cmd_rerank, "score documents against a query with a reranker (cross-encoder), best first"},
    {"template", cmd_template, "render a conversation with a chat template"},
    {"chat", cmd_chat, "talk with a model through its chat template (interactive, or one message per line on stdin)"},
    {"bench", cmd_bench, "measure prompt and generation speed (tokens/s), as llama-bench does"},
    {"serve", cmd_serve, "serve models over HTTP: Ollama and OpenAI APIs, a web chat page"},
    {"synth", cmd_synth, "write a random-weight model of a real model's shape"},
    {"pull", cmd_pull, "download a model from the Hugging Face Hub into the model store"},
    {"list", cmd_list, "list the models of the store (docs/models.md)"},
    {"show", cmd_show, "describe a model of the store: file, source, architecture, settings"},
    {"rm", cmd_rm, "remove models from the store"},
    {"cp", cmd_cp, "copy a model of the store to a new name (the file is shared)"},
    {"create", cmd_create, "add a local GGUF file to the store, or a variant of a model with its own settings"},
    {"index", cmd_index, "index text files and folders for search: chunks, embeddings, full text (SQLite)"},
    {"search", cmd_search, "search indexed documents by meaning and words (vector, full-text or hybrid)"},
    {"ask", cmd_ask, "answer a question from indexed documents with a chat model, citing the sources"},
    {"convert", cmd_convert, "convert a Hugging Face model folder to GGUF"},
};

static void usage(FILE *out) {
    fprintf(out,
            "tinyllm %s — a fast, private, offline runtime for tiny language models\n\n"
            "usage: tinyllm COMMAND [options]   (tinyllm COMMAND --help for its options)\n\n"
            "commands:\n",
            TL_VERSION);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fputs("\nfirst steps (README.md, \"Getting started\", says where to get GGUF models):\n"
          "  tinyllm run -m MODEL.gguf -p \"Once upon a time\" -n 100\n"
          "  tinyllm chat -m MODEL.gguf\n"
          "  tinyllm serve --models DIR        then open http://127.0.0.1:8080/\n"
          "every option: tinyllm COMMAND --help, or man tinyllm once installed (cmake --install)\n",
          out);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 1;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("tinyllm %s\n", TL_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "tinyllm: unknown command '%s' (see tinyllm --help)\n", argv[1]);
    return 1;
}
