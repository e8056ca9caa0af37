/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Shared by the fuzz targets: GLib logging is silenced (the modules log
 * every malformed input they ignore, which would only slow the fuzzer),
 * except that a critical (a failed g_return_if_fail(), i.e. a caller bug)
 * or an error aborts, so that libFuzzer and the replay test report it.
 */
#pragma once

#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts with a message: a property of the module does not hold. */
#define fuzz_assert(cond)                                                                          \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #cond);            \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static GLogWriterOutput fuzz_log_writer(GLogLevelFlags level, const GLogField *fields,
                                        gsize n_fields, gpointer user_data)
{
    if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL)) {
        for (gsize i = 0; i < n_fields; i++)
            if (g_strcmp0(fields[i].key, "MESSAGE") == 0 && fields[i].length < 0)
                fprintf(stderr, "GLib critical: %s\n", (const char *)fields[i].value);
        abort();
    }
    return G_LOG_WRITER_HANDLED;
}

static inline void fuzz_setup(void)
{
    static gboolean done;
    if (done)
        return;
    done = TRUE;
    g_log_set_writer_func(fuzz_log_writer, NULL, NULL);
}

/* A NUL-terminated copy of the input (it may contain other NULs). */
static inline char *fuzz_strndup(const uint8_t *data, size_t size)
{
    char *s = g_malloc(size + 1);
    if (size)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}
