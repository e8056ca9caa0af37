/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Fuzz target: the iproute2 group file parser (src/config/group-names.c),
 * then lookups on what it parsed: every whitespace-separated word of the
 * input is resolved, and every id found is named.
 * Properties checked besides memory safety:
 *   - resolve() returns 0, -EINVAL or -ENOENT and sets the id only on 0;
 *   - a name returned for an id is a valid name and resolves (to some id;
 *     corpus/group-names/crash-name-dropped once broke this);
 * Warnings are not checked for UTF-8: they quote the bad line as read, and
 * the file (root's, not required to be UTF-8 by ip(8)) only reaches the
 * log, never the bus.
 */
#include "fuzz-common.h"

#include "config/group-names.h"

#include <errno.h>
#include <string.h>

static void check_id(const GdGroupNames *names, uint32_t id)
{
    const char *name = gd_group_names_name(names, id);
    if (!name)
        return;
    fuzz_assert(gd_group_names_valid_name(name));
    uint32_t back = 0;
    int r = gd_group_names_resolve(names, name, &back);
    fuzz_assert(r == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_setup();
    char *text = g_memdup2(data, size ? size : 1); /* not NUL-terminated */

    g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func(g_free);
    GdGroupNames *names = gd_group_names_parse(text, size, warnings);
    fuzz_assert(names != NULL);
    for (guint i = 0; i < warnings->len; i++)
        fuzz_assert(warnings->pdata[i] != NULL);

    /* The built-in name, and what parse added. */
    fuzz_assert(gd_group_names_name(names, 0) != NULL);
    (void)gd_group_names_source(names);

    g_free(text);
    text = fuzz_strndup(data, size);
    char **words = g_strsplit_set(text, " \t\r\n#", -1);
    for (char **w = words; *w; w++) {
        uint32_t id = 0xdeadbeef;
        int r = gd_group_names_resolve(names, *w, &id);
        fuzz_assert(r == 0 || r == -EINVAL || r == -ENOENT);
        if (r < 0)
            fuzz_assert(id == 0xdeadbeef);
        else
            check_id(names, id);
        (void)gd_group_names_valid_name(*w);
    }
    g_strfreev(words);
    /* The whole input as one text, too. */
    uint32_t id = 0;
    if (gd_group_names_resolve(names, text, &id) == 0)
        check_id(names, id);
    for (uint32_t probe = 0; probe < 300; probe++)
        check_id(names, probe);
    check_id(names, UINT32_MAX);

    g_free(text);
    gd_group_names_free(names);
    return 0;
}
