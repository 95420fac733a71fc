/*
 * builtin_templates.c — chat templates known by name (--chat-template NAME),
 * written in Jinja as the model families ship them (simplified to what a
 * conversation of system/user/assistant messages needs), for models whose
 * file has no tokenizer.chat_template or to override it.
 */
#include <string.h>

#include "tinyllm.h"

typedef struct builtin {
    const char *name;
    const char *source;
} builtin;

static const builtin builtins[] = {
    {"chatml",
     "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + "
     "'<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"},
    {"llama2",
     "{% if messages[0]['role'] == 'system' %}{% set system = messages[0]['content'] %}{% set loop_messages = "
     "messages[1:] %}{% else %}{% set system = '' %}{% set loop_messages = messages %}{% endif %}"
     "{% for message in loop_messages %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' }}"
     "{% if loop.first and system %}{{ '<<SYS>>\\n' + system + '\\n<</SYS>>\\n\\n' }}{% endif %}"
     "{{ message['content'] | trim + ' [/INST]' }}{% elif message['role'] == 'assistant' %}"
     "{{ ' ' + message['content'] | trim + ' ' + eos_token }}{% endif %}{% endfor %}"},
    {"llama3", "{{ bos_token }}{% for message in messages %}{{ '<|start_header_id|>' + message['role'] + "
               "'<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}{% endfor %}"
               "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}"},
    {"phi3", "{% for message in messages %}{{ '<|' + message['role'] + '|>\\n' + message['content'] + '<|end|>\\n' }}"
             "{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% else %}{{ eos_token }}{% endif %}"},
    {"gemma",
     "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{% set first_prefix = messages[0]['content'] + "
     "'\\n\\n' %}{% set loop_messages = messages[1:] %}{% else %}{% set first_prefix = '' %}"
     "{% set loop_messages = messages %}{% endif %}{% for message in loop_messages %}"
     "{% set role = 'model' if message['role'] == 'assistant' else message['role'] %}"
     "{{ '<start_of_turn>' + role + '\\n' + (first_prefix if loop.first else '') + message['content'] | trim + "
     "'<end_of_turn>\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<start_of_turn>model\\n' }}{% endif %}"},
    {"mistral",
     "{% if messages[0]['role'] == 'system' %}{% set system = messages[0]['content'] + '\\n\\n' %}"
     "{% set loop_messages = messages[1:] %}{% else %}{% set system = '' %}{% set loop_messages = messages %}"
     "{% endif %}{{ bos_token }}{% for message in loop_messages %}{% if message['role'] == 'user' %}"
     "{{ '[INST]' + (system if loop.last else '') + message['content'] + '[/INST]' }}"
     "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token }}{% endif %}{% endfor %}"},
    {"zephyr",
     "{% for message in messages %}{{ '<|' + message['role'] + '|>\\n' + message['content'] + eos_token + '\\n' }}"
     "{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}"},
    {"deepseek",
     "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'system' %}{{ message['content'] }}"
     "{% elif message['role'] == 'user' %}{{ '<｜User｜>' + message['content'] }}"
     "{% elif message['role'] == 'assistant' %}{{ '<｜Assistant｜>' + message['content'] + "
     "'<｜end▁of▁sentence｜>' }}{% endif %}{% endfor %}{% if add_generation_prompt %}"
     "{{ '<｜Assistant｜><think>\\n' }}{% endif %}"},
};

const char *tl_chat_template_builtin(const char *name) {
    for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
        if (strcmp(builtins[i].name, name) == 0) return builtins[i].source;
    return NULL;
}

const char *tl_chat_template_builtin_names(void) {
    return "chatml, llama2, llama3, phi3, gemma, mistral, zephyr, deepseek";
}
