/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Fuzz target: the text forms of src/netlink/nl-msg.c, MAC addresses
 * ("aa:bb:…") and CIDR addresses ("10.0.0.1/24", "fd00::1/64"), on a
 * NUL-terminated copy of the input.
 * Property (round trip): what parses, formatted and parsed again, gives
 * the same bytes (MAC: length and bytes; CIDR: family, address, prefix).
 */
#include "fuzz-common.h"

#include "netlink/nl.h"

#include <string.h>
#include <sys/socket.h>

static void hwaddr(const char *text, size_t out_size)
{
    uint8_t a[GD_NL_MAX_HWADDR], b[GD_NL_MAX_HWADDR];
    int n = gd_nl_hwaddr_parse(text, a, out_size);
    if (n < 0)
        return;
    fuzz_assert(n > 0 && (size_t)n <= out_size);
    char *formatted = gd_nl_hwaddr_format(a, (size_t)n);
    fuzz_assert(strlen(formatted) == (size_t)n * 3 - 1);
    int m = gd_nl_hwaddr_parse(formatted, b, out_size);
    fuzz_assert(m == n);
    fuzz_assert(memcmp(a, b, (size_t)n) == 0);
    /* The canonical form is lower case, which is what the input was
     * unless it had upper-case digits. */
    fuzz_assert(g_ascii_strcasecmp(formatted, text) == 0);
    g_free(formatted);
}

static void cidr(const char *text)
{
    GdNlAddr a, b;
    if (gd_nl_cidr_parse(text, &a) < 0)
        return;
    fuzz_assert(a.family == AF_INET || a.family == AF_INET6);
    fuzz_assert(a.prefixlen <= (a.family == AF_INET ? 32 : 128));
    char *formatted = gd_nl_addr_format(&a);
    fuzz_assert(gd_nl_cidr_parse(formatted, &b) == 0);
    fuzz_assert(a.family == b.family);
    fuzz_assert(a.prefixlen == b.prefixlen);
    fuzz_assert(memcmp(a.addr, b.addr, sizeof(a.addr)) == 0);
    /* Formatting is a fixed point. */
    char *again = gd_nl_addr_format(&b);
    fuzz_assert(strcmp(formatted, again) == 0);
    g_free(again);
    g_free(formatted);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_setup();
    char *text = fuzz_strndup(data, size);
    hwaddr(text, GD_NL_MAX_HWADDR);
    hwaddr(text, 6);
    hwaddr(text, 1);
    cidr(text);
    g_free(text);
    return 0;
}
