/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Fuzz target: the *.group policy parser and the groupd.conf parser
 * (src/config/), on the same input.
 * Properties checked besides memory safety:
 *   - a parser fails (NULL / -EINVAL) exactly when it reported errors;
 *   - every error message, shown by the rule of src/text/text.h as the bus
 *     shows it, is valid UTF-8 and gives the message back (messages quote
 *     paths and contents as bytes);
 *   - a parsed policy's addresses format and its [Match] evaluates.
 */
#include "fuzz-common.h"

#include "config/config.h"
#include "text/text.h"

#include <errno.h>
#include <string.h>

static const GdGroupNames *fixed_names(void)
{
    static GdGroupNames *names;
    if (!names) {
        static const char text[] = "100 ppp\n";
        names = gd_group_names_parse(text, strlen(text), NULL);
    }
    return names;
}

static void check_errors(GPtrArray *errors)
{
    for (guint i = 0; i < errors->len; i++) {
        const char *e = errors->pdata[i];
        fuzz_assert(e != NULL);
        char *shown = gd_text_escape(e), *back = NULL;
        fuzz_assert(g_utf8_validate(shown, -1, NULL));
        fuzz_assert(gd_text_unescape(shown, &back) == 0 && strcmp(back, e) == 0);
        g_free(back);
        g_free(shown);
    }
}

static void exercise_policy(const GdGroupPolicy *policy)
{
    static const uint8_t mac[] = {0x02, 0, 0, 0, 0, 1};
    static const GdMatchInput links[] = {
        {"ppp0", NULL, "ppp", NULL, NULL, 0, 100},
        {"eth0", "", "ether", "e1000e", mac, sizeof(mac), 0},
        {"veth1", "veth", "ether", "veth", mac, sizeof(mac), 10},
    };
    fuzz_assert(policy->addresses != NULL);
    fuzz_assert(policy->file_name != NULL && policy->path != NULL);
    for (guint i = 0; i < policy->addresses->len; i++) {
        const GdNlAddr *a = &g_array_index(policy->addresses, GdNlAddr, i);
        fuzz_assert(a->family == AF_INET || a->family == AF_INET6);
        g_free(gd_nl_addr_format(a));
    }
    if (policy->match.hwaddrs)
        for (guint i = 0; i < policy->match.hwaddrs->len; i++) {
            const GdMatchHwaddr *h = &g_array_index(policy->match.hwaddrs, GdMatchHwaddr, i);
            fuzz_assert(h->len <= GD_NL_MAX_HWADDR);
        }
    if (policy->link.set_hwaddr)
        fuzz_assert(policy->link.hwaddr_len > 0 && policy->link.hwaddr_len <= GD_NL_MAX_HWADDR);
    for (size_t i = 0; i < G_N_ELEMENTS(links); i++)
        (void)gd_match_link(&policy->match, &links[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_setup();
    /* An exact-size copy that is not NUL-terminated: the parsers take a
     * length and must not read past it. */
    char *text = g_memdup2(data, size ? size : 1);

    g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func(g_free);
    GdGroupPolicy *policy =
        gd_group_policy_parse("/fuzz/50-fuzz.group", text, size, fixed_names(), errors);
    check_errors(errors);
    fuzz_assert((policy == NULL) == (errors->len > 0));
    if (policy) {
        exercise_policy(policy);
        gd_group_policy_free(policy);
    }

    /* The same text without iproute2 names (only "0 default"). */
    g_ptr_array_set_size(errors, 0);
    policy = gd_group_policy_parse("/fuzz/50-fuzz.group", text, size, NULL, errors);
    check_errors(errors);
    fuzz_assert((policy == NULL) == (errors->len > 0));
    gd_group_policy_free(policy);

    g_ptr_array_set_size(errors, 0);
    g_auto(GdDaemonConfig) config;
    gd_daemon_config_init(&config);
    int r = gd_daemon_config_parse("/fuzz/groupd.conf", text, size, &config, errors);
    check_errors(errors);
    fuzz_assert(r == 0 || r == -EINVAL);
    fuzz_assert((r < 0) == (errors->len > 0));
    if (r == 0) {
        fuzz_assert(config.admin_group != NULL);
        fuzz_assert(config.netlink_receive_buffer >= GD_CONFIG_MIN_RCVBUF &&
                    config.netlink_receive_buffer <= GD_CONFIG_MAX_RCVBUF);
        fuzz_assert(config.drift_debounce_msec <= GD_CONFIG_MAX_DRIFT_DEBOUNCE_MSEC);
    }

    g_free(text);
    return 0;
}
