/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A small JSON reader, enough for the plan groupd returns (there is no JSON
 * library in the stack, and the plan is small). */
#include <stdlib.h>
#include <string.h>

#include "groupctl.h"

#define MAX_DEPTH 64

typedef struct {
    const char *p;
} Parser;

static JsonValue *parse_value(Parser *ps, unsigned depth);

static void skip_ws(Parser *ps)
{
    while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')
        ps->p++;
}

static JsonValue *value_new(JsonType type)
{
    JsonValue *v = g_new0(JsonValue, 1);
    v->type = type;
    if (type == JSON_ARRAY || type == JSON_OBJECT)
        v->items = g_ptr_array_new_with_free_func((GDestroyNotify)json_value_free);
    return v;
}

void json_value_free(JsonValue *v)
{
    if (!v)
        return;
    g_free(v->text);
    if (v->items)
        g_ptr_array_unref(v->items);
    g_free(v);
}

static int hex4(const char *p)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        int d = g_ascii_xdigit_value(p[i]);
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

static JsonValue *parse_string(Parser *ps)
{
    g_autoptr(GString) s = g_string_new(NULL);
    ps->p++; /* the opening quote */
    for (;;) {
        char c = *ps->p++;
        if (c == '"')
            break;
        if (c == '\0' || (unsigned char)c < 0x20)
            return NULL;
        if (c != '\\') {
            g_string_append_c(s, c);
            continue;
        }
        c = *ps->p++;
        switch (c) {
        case '"':
            g_string_append_c(s, '"');
            break;
        case '\\':
            g_string_append_c(s, '\\');
            break;
        case '/':
            g_string_append_c(s, '/');
            break;
        case 'b':
            g_string_append_c(s, '\b');
            break;
        case 'f':
            g_string_append_c(s, '\f');
            break;
        case 'n':
            g_string_append_c(s, '\n');
            break;
        case 'r':
            g_string_append_c(s, '\r');
            break;
        case 't':
            g_string_append_c(s, '\t');
            break;
        case 'u': {
            int cp = hex4(ps->p);
            if (cp < 0)
                return NULL;
            ps->p += 4;
            if (cp >= 0xd800 && cp < 0xdc00 && ps->p[0] == '\\' && ps->p[1] == 'u') {
                int lo = hex4(ps->p + 2);
                if (lo >= 0xdc00 && lo < 0xe000) {
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                    ps->p += 6;
                }
            }
            if (cp >= 0xd800 && cp < 0xe000)
                cp = 0xfffd;
            g_string_append_unichar(s, (gunichar)cp);
            break;
        }
        default:
            return NULL;
        }
    }
    JsonValue *v = value_new(JSON_STRING);
    v->text = g_string_free(g_steal_pointer(&s), FALSE);
    return v;
}

static JsonValue *parse_container(Parser *ps, unsigned depth, bool object)
{
    g_autoptr(JsonValue) v = value_new(object ? JSON_OBJECT : JSON_ARRAY);
    char close = object ? '}' : ']';
    ps->p++;
    skip_ws(ps);
    if (*ps->p == close) {
        ps->p++;
        return g_steal_pointer(&v);
    }
    for (;;) {
        skip_ws(ps);
        if (object) {
            if (*ps->p != '"')
                return NULL;
            JsonValue *key = parse_string(ps);
            if (!key)
                return NULL;
            g_ptr_array_add(v->items, key);
            skip_ws(ps);
            if (*ps->p++ != ':')
                return NULL;
        }
        JsonValue *item = parse_value(ps, depth + 1);
        if (!item)
            return NULL;
        g_ptr_array_add(v->items, item);
        skip_ws(ps);
        if (*ps->p == ',') {
            ps->p++;
            continue;
        }
        if (*ps->p++ != close)
            return NULL;
        return g_steal_pointer(&v);
    }
}

static JsonValue *parse_value(Parser *ps, unsigned depth)
{
    if (depth > MAX_DEPTH)
        return NULL;
    skip_ws(ps);
    switch (*ps->p) {
    case '{':
        return parse_container(ps, depth, true);
    case '[':
        return parse_container(ps, depth, false);
    case '"':
        return parse_string(ps);
    case 't':
    case 'f':
    case 'n': {
        static const struct {
            const char *word;
            JsonType type;
            bool b;
        } words[] = {
            {"true", JSON_BOOL, true}, {"false", JSON_BOOL, false}, {"null", JSON_NULL, false}};
        for (size_t i = 0; i < G_N_ELEMENTS(words); i++) {
            size_t n = strlen(words[i].word);
            if (strncmp(ps->p, words[i].word, n) == 0) {
                ps->p += n;
                JsonValue *v = value_new(words[i].type);
                v->boolean = words[i].b;
                return v;
            }
        }
        return NULL;
    }
    default: {
        char *end;
        double d = g_ascii_strtod(ps->p, &end);
        if (end == ps->p)
            return NULL;
        JsonValue *v = value_new(JSON_NUMBER);
        v->number = d;
        v->text = g_strndup(ps->p, end - ps->p);
        ps->p = end;
        return v;
    }
    }
}

JsonValue *json_parse(const char *text)
{
    Parser ps = {text};
    g_autoptr(JsonValue) v = parse_value(&ps, 0);
    if (!v)
        return NULL;
    skip_ws(&ps);
    return *ps.p ? NULL : g_steal_pointer(&v);
}

const JsonValue *json_get(const JsonValue *obj, const char *key)
{
    if (!obj || obj->type != JSON_OBJECT)
        return NULL;
    for (unsigned i = 0; i + 1 < obj->items->len; i += 2) {
        const JsonValue *k = obj->items->pdata[i];
        if (strcmp(k->text, key) == 0)
            return obj->items->pdata[i + 1];
    }
    return NULL;
}

unsigned json_len(const JsonValue *v)
{
    if (!v || v->type != JSON_ARRAY)
        return 0;
    return v->items->len;
}

const JsonValue *json_at(const JsonValue *arr, unsigned i)
{
    return i < json_len(arr) ? arr->items->pdata[i] : NULL;
}

char *json_to_text(const JsonValue *v)
{
    if (!v)
        return g_strdup("-");
    switch (v->type) {
    case JSON_NULL:
        return g_strdup("-");
    case JSON_BOOL:
        return g_strdup(v->boolean ? "yes" : "no");
    case JSON_NUMBER:
    case JSON_STRING:
        return g_strdup(v->text);
    case JSON_ARRAY: {
        g_autoptr(GString) s = g_string_new(NULL);
        for (unsigned i = 0; i < v->items->len; i++) {
            g_autofree char *t = json_to_text(v->items->pdata[i]);
            g_string_append_printf(s, "%s%s", i ? ", " : "", t);
        }
        return g_string_free(g_steal_pointer(&s), FALSE);
    }
    case JSON_OBJECT: {
        g_autoptr(GString) s = g_string_new(NULL);
        for (unsigned i = 0; i + 1 < v->items->len; i += 2) {
            const JsonValue *k = v->items->pdata[i];
            g_autofree char *t = json_to_text(v->items->pdata[i + 1]);
            g_string_append_printf(s, "%s%s=%s", i ? " " : "", k->text, t);
        }
        return g_string_free(g_steal_pointer(&s), FALSE);
    }
    }
    return g_strdup("?");
}
