/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Unit tests of the one errno → net.groupd1.Error mapping (src/bus/errors.c)
 * and of the pure checks of group operations (src/policy/ops.c).
 */
#include "bus/bus.h"
#include "policy/ops.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib.h>
#include <linux/if_arp.h>
#include <string.h>
#include <sys/socket.h>

/* ---- errno → D-Bus error ---- */

static void assert_dbus_name(const GError *error, const char *want)
{
    g_autofree char *name = g_dbus_error_encode_gerror(error);
    g_assert_cmpstr(name, ==, want);
}

static void test_error_names(void)
{
    static const struct {
        GdBusError code;
        const char *name;
    } all[] = {
        {GD_BUS_ERROR_NO_SUCH_GROUP, "net.groupd1.Error.NoSuchGroup"},
        {GD_BUS_ERROR_NO_SUCH_LINK, "net.groupd1.Error.NoSuchLink"},
        {GD_BUS_ERROR_INVALID_ARGS, "net.groupd1.Error.InvalidArgs"},
        {GD_BUS_ERROR_ACCESS_DENIED, "net.groupd1.Error.AccessDenied"},
        {GD_BUS_ERROR_PARTIALLY_APPLIED, "net.groupd1.Error.PartiallyApplied"},
        {GD_BUS_ERROR_DEFAULT_GROUP_PROTECTED, "net.groupd1.Error.DefaultGroupProtected"},
        {GD_BUS_ERROR_KERNEL, "net.groupd1.Error.Kernel"},
        {GD_BUS_ERROR_BUSY, "net.groupd1.Error.Busy"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(all); i++) {
        g_autoptr(GError) error = g_error_new_literal(GD_BUS_ERROR, (gint)all[i].code, "x");
        assert_dbus_name(error, all[i].name);
    }
    /* And back: a remote error of that name is the same domain and code. */
    g_autoptr(GError) remote =
        g_dbus_error_new_for_dbus_error("net.groupd1.Error.DefaultGroupProtected", "group 0");
    g_assert_error(remote, GD_BUS_ERROR, GD_BUS_ERROR_DEFAULT_GROUP_PROTECTED);
}

static void test_from_errno_own(void)
{
    static const struct {
        int err;
        GdBusError code;
        const char *name;
    } cases[] = {
        {-ENODEV, GD_BUS_ERROR_NO_SUCH_LINK, "net.groupd1.Error.NoSuchLink"},
        {-ENOENT, GD_BUS_ERROR_NO_SUCH_GROUP, "net.groupd1.Error.NoSuchGroup"},
        {-EINVAL, GD_BUS_ERROR_INVALID_ARGS, "net.groupd1.Error.InvalidArgs"},
        {-ERANGE, GD_BUS_ERROR_INVALID_ARGS, "net.groupd1.Error.InvalidArgs"},
        {-E2BIG, GD_BUS_ERROR_INVALID_ARGS, "net.groupd1.Error.InvalidArgs"},
        {-EBUSY, GD_BUS_ERROR_BUSY, "net.groupd1.Error.Busy"},
        {-EACCES, GD_BUS_ERROR_ACCESS_DENIED, "net.groupd1.Error.AccessDenied"},
        {-EPERM, GD_BUS_ERROR_ACCESS_DENIED, "net.groupd1.Error.AccessDenied"},
        {-EIO, GD_BUS_ERROR_KERNEL, "net.groupd1.Error.Kernel"},
        {-ENOMEM, GD_BUS_ERROR_KERNEL, "net.groupd1.Error.Kernel"},
        {-EEXIST, GD_BUS_ERROR_KERNEL, "net.groupd1.Error.Kernel"},
        {-ETIMEDOUT, GD_BUS_ERROR_KERNEL, "net.groupd1.Error.Kernel"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_test_message("errno %d", -cases[i].err);
        g_autoptr(GError) error =
            gd_bus_error_from_errno(cases[i].err, FALSE, NULL, "group %s: %u", "ppp", 7u);
        g_assert_error(error, GD_BUS_ERROR, (gint)cases[i].code);
        assert_dbus_name(error, cases[i].name);
        /* groupd's own errors say what they say, no strerror. */
        g_assert_cmpstr(error->message, ==, "group ppp: 7");
    }
}

static void test_from_errno_kernel(void)
{
    /* The kernel's answers are Kernel errors, whatever the errno... */
    static const int errs[] = {-ENODEV, -ENOENT, -EINVAL, -ERANGE, -EACCES, -EPERM, -EIO};
    for (size_t i = 0; i < G_N_ELEMENTS(errs); i++) {
        int e = -errs[i];
        g_test_message("errno %d", e);
        g_autoptr(GError) error = gd_bus_error_from_errno(
            errs[i], TRUE, "MTU greater than device maximum", "group %u: MTU %u", 5u, 70000u);
        g_assert_error(error, GD_BUS_ERROR, GD_BUS_ERROR_KERNEL);
        assert_dbus_name(error, "net.groupd1.Error.Kernel");
        g_autofree char *errno_text = g_strdup_printf("errno %d", e);
        g_assert_nonnull(strstr(error->message, "group 5: MTU 70000"));
        g_assert_nonnull(strstr(error->message, g_strerror(e)));
        g_assert_nonnull(strstr(error->message, errno_text));
        g_assert_nonnull(strstr(error->message, "MTU greater than device maximum"));
    }

    /* ...but EBUSY stays Busy. */
    g_autoptr(GError) busy =
        gd_bus_error_from_errno(-EBUSY, TRUE, "Device or resource busy", "link %s", "veth0");
    g_assert_error(busy, GD_BUS_ERROR, GD_BUS_ERROR_BUSY);
    assert_dbus_name(busy, "net.groupd1.Error.Busy");
    g_assert_nonnull(strstr(busy->message, "link veth0"));
    g_assert_nonnull(strstr(busy->message, "errno 16"));

    /* Without extack: strerror and the number, and no dangling separator. */
    g_autoptr(GError) plain = gd_bus_error_from_errno(-EINVAL, TRUE, NULL, "%s", "group 5");
    g_assert_error(plain, GD_BUS_ERROR, GD_BUS_ERROR_KERNEL);
    g_assert_nonnull(strstr(plain->message, g_strerror(EINVAL)));
    g_assert_nonnull(strstr(plain->message, "errno 22"));
    g_assert_false(g_str_has_suffix(plain->message, ": "));
    g_assert_false(g_str_has_suffix(plain->message, ":"));
    g_assert_null(strstr(plain->message, "(null)"));
}

static void test_from_errno_positive(void)
{
    /* A caller passing 0 or a positive value still gets an error, never a
     * "success" error. */
    g_autoptr(GError) zero = gd_bus_error_from_errno(0, FALSE, NULL, "oops");
    g_assert_nonnull(zero);
    g_assert_true(zero->domain == GD_BUS_ERROR);
    g_autoptr(GError) zero_kernel = gd_bus_error_from_errno(0, TRUE, NULL, "oops");
    g_assert_error(zero_kernel, GD_BUS_ERROR, GD_BUS_ERROR_KERNEL);
    g_assert_null(strstr(zero_kernel->message, "Success"));
}

/* ---- validation of group changes ---- */

static void link_free(gpointer data)
{
    GdLink *link = data;
    g_array_unref(link->addrs);
    g_free(link);
}

static GdLink *add_link(GPtrArray *links, int ifindex, const char *name, uint16_t arptype,
                        uint32_t min_mtu, uint32_t max_mtu, uint8_t hwaddr_len)
{
    GdLink *link = g_new0(GdLink, 1);
    link->nl.ifindex = ifindex;
    g_strlcpy(link->nl.name, name, sizeof(link->nl.name));
    link->nl.arptype = arptype;
    link->nl.mtu = 1500;
    link->nl.min_mtu = min_mtu;
    link->nl.max_mtu = max_mtu;
    link->nl.txqlen = 1000;
    link->nl.hwaddr_len = hwaddr_len;
    for (uint8_t i = 0; i < hwaddr_len; i++)
        link->nl.hwaddr[i] = (uint8_t)(0x02 + i);
    link->addrs = g_array_new(FALSE, TRUE, sizeof(GdNlAddr));
    g_ptr_array_add(links, link);
    return link;
}

static GPtrArray *new_links(void)
{
    return g_ptr_array_new_with_free_func(link_free);
}

static void assert_problems(GPtrArray *problems, const char *const *want_substrings)
{
    guint n = 0;
    for (; want_substrings[n]; n++)
        ;
    for (guint i = 0; i < problems->len; i++)
        g_test_message("problem: %s", (char *)problems->pdata[i]);
    g_assert_cmpuint(problems->len, ==, n);
    for (guint i = 0; i < n; i++) {
        g_test_message("want \"%s\" in \"%s\"", want_substrings[i], (char *)problems->pdata[i]);
        g_assert_nonnull(strstr(problems->pdata[i], want_substrings[i]));
    }
}

static void test_validate_mtu(void)
{
    g_autoptr(GPtrArray) links = new_links();
    add_link(links, 1, "ifb0", ARPHRD_ETHER, 68, 0, 6);      /* no maximum */
    add_link(links, 2, "veth0", ARPHRD_ETHER, 68, 65535, 6); /* veth */
    add_link(links, 3, "ifb1", ARPHRD_ETHER, 68, 0, 6);
    add_link(links, 4, "veth1", ARPHRD_ETHER, 68, 65535, 6);

    GdNlLinkChange change = {.set_mtu = true, .mtu = 70000};
    {
        g_autoptr(GPtrArray) problems = gd_op_validate_change(links, &change);
        const char *const want[] = {"veth0", "veth1", NULL};
        assert_problems(problems, want);
        /* Each names the member, the MTU asked for and the maximum. */
        g_assert_true(g_str_has_prefix(problems->pdata[0], "veth0"));
        g_assert_nonnull(strstr(problems->pdata[0], "70000"));
        g_assert_nonnull(strstr(problems->pdata[0], "65535"));
        g_assert_nonnull(strstr(problems->pdata[0], "maximum"));
    }

    /* At the limits: fine. */
    change.mtu = 65535;
    {
        g_autoptr(GPtrArray) problems = gd_op_validate_change(links, &change);
        g_assert_cmpuint(problems->len, ==, 0);
    }
    change.mtu = 68;
    {
        g_autoptr(GPtrArray) problems = gd_op_validate_change(links, &change);
        g_assert_cmpuint(problems->len, ==, 0);
    }

    /* Below the minimum: everyone. */
    change.mtu = 67;
    {
        g_autoptr(GPtrArray) problems = gd_op_validate_change(links, &change);
        const char *const want[] = {"ifb0", "veth0", "ifb1", "veth1", NULL};
        assert_problems(problems, want);
        g_assert_nonnull(strstr(problems->pdata[1], "67"));
        g_assert_nonnull(strstr(problems->pdata[1], "minimum 68"));
    }

    /* max 0 = unlimited. */
    g_autoptr(GPtrArray) ifbs = new_links();
    add_link(ifbs, 1, "ifb0", ARPHRD_ETHER, 68, 0, 6);
    change.mtu = 0x7fffffff;
    {
        g_autoptr(GPtrArray) problems = gd_op_validate_change(ifbs, &change);
        g_assert_cmpuint(problems->len, ==, 0);
    }

    /* Without set_mtu the MTU is not looked at. */
    change.set_mtu = false;
    change.mtu = 70000;
    {
        g_autoptr(GPtrArray) problems = gd_op_validate_change(links, &change);
        g_assert_cmpuint(problems->len, ==, 0);
    }

    /* No members, no problems. */
    g_autoptr(GPtrArray) none = new_links();
    change.set_mtu = true;
    {
        g_autoptr(GPtrArray) problems = gd_op_validate_change(none, &change);
        g_assert_cmpuint(problems->len, ==, 0);
    }
}

static void test_validate_hwaddr(void)
{
    g_autoptr(GPtrArray) links = new_links();
    add_link(links, 1, "veth0", ARPHRD_ETHER, 68, 65535, 6);
    add_link(links, 2, "tun0", ARPHRD_NONE, 68, 65535, 0);       /* no address */
    add_link(links, 3, "ib0", ARPHRD_INFINIBAND, 68, 65535, 20); /* 20 bytes */
    add_link(links, 4, "veth1", ARPHRD_ETHER, 68, 65535, 6);

    GdNlLinkChange change = {
        .set_hwaddr = true,
        .hwaddr = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01},
        .hwaddr_len = 6,
    };
    {
        g_autoptr(GPtrArray) problems = gd_op_validate_change(links, &change);
        const char *const want[] = {"tun0", "ib0", NULL};
        assert_problems(problems, want);
        g_assert_nonnull(strstr(problems->pdata[0], "no hardware address"));
        g_assert_nonnull(strstr(problems->pdata[1], "20"));
        g_assert_nonnull(strstr(problems->pdata[1], "6"));
    }

    /* A multicast (group bit set) MAC on Ethernet devices. */
    change.hwaddr[0] = 0x01;
    {
        g_autoptr(GPtrArray) problems = gd_op_validate_change(links, &change);
        const char *const want[] = {"veth0", "tun0", "ib0", "veth1", NULL};
        assert_problems(problems, want);
        g_assert_nonnull(strstr(problems->pdata[0], "multicast"));
        g_assert_nonnull(strstr(problems->pdata[3], "multicast"));
    }
    change.hwaddr[0] = 0x33; /* IPv6 multicast MAC prefix 33:33 */
    change.hwaddr[1] = 0x33;
    {
        g_autoptr(GPtrArray) problems = gd_op_validate_change(links, &change);
        g_assert_cmpuint(problems->len, ==, 4);
    }
    /* Locally administered unicast is fine on Ethernet. */
    change.hwaddr[0] = 0x02;
    change.hwaddr[1] = 0xff;
    g_autoptr(GPtrArray) ether = new_links();
    add_link(ether, 1, "veth0", ARPHRD_ETHER, 68, 65535, 6);
    {
        g_autoptr(GPtrArray) problems = gd_op_validate_change(ether, &change);
        g_assert_cmpuint(problems->len, ==, 0);
    }

    /* MTU and MAC problems of one change are all reported. */
    change.set_mtu = true;
    change.mtu = 70000;
    change.hwaddr[0] = 0x01;
    {
        g_autoptr(GPtrArray) problems = gd_op_validate_change(ether, &change);
        const char *const want[] = {"veth0: MTU", "veth0:", NULL};
        assert_problems(problems, want);
    }
}

static void test_link_matches_change(void)
{
    g_autoptr(GPtrArray) links = new_links();
    GdLink *link = add_link(links, 1, "veth0", ARPHRD_ETHER, 68, 65535, 6);
    link->nl.flags = IFF_UP | IFF_BROADCAST;
    const uint8_t mac[6] = {0x02, 0x03, 0x04, 0x05, 0x06, 0x07};
    g_assert_cmpmem(link->nl.hwaddr, 6, mac, 6);

    GdNlLinkChange change = {0};
    g_assert_true(gd_link_matches_change(link, &change));

    change = (GdNlLinkChange){.set_mtu = true, .mtu = 1500};
    g_assert_true(gd_link_matches_change(link, &change));
    change.mtu = 9000;
    g_assert_false(gd_link_matches_change(link, &change));

    change = (GdNlLinkChange){.set_state = true, .up = true};
    g_assert_true(gd_link_matches_change(link, &change));
    change.up = false;
    g_assert_false(gd_link_matches_change(link, &change));

    change = (GdNlLinkChange){.set_txqlen = true, .txqlen = 1000};
    g_assert_true(gd_link_matches_change(link, &change));
    change.txqlen = 0;
    g_assert_false(gd_link_matches_change(link, &change));

    change = (GdNlLinkChange){.set_hwaddr = true, .hwaddr_len = 6};
    memcpy(change.hwaddr, mac, 6);
    g_assert_true(gd_link_matches_change(link, &change));
    change.hwaddr[5] ^= 1;
    g_assert_false(gd_link_matches_change(link, &change));
    memcpy(change.hwaddr, mac, 6);
    change.hwaddr_len = 5; /* a prefix of the address is not the address */
    g_assert_false(gd_link_matches_change(link, &change));

    /* All at once: one attribute off is enough to differ. */
    change = (GdNlLinkChange){.set_mtu = true,
                              .mtu = 1500,
                              .set_state = true,
                              .up = true,
                              .set_txqlen = true,
                              .txqlen = 1000,
                              .set_hwaddr = true,
                              .hwaddr_len = 6};
    memcpy(change.hwaddr, mac, 6);
    g_assert_true(gd_link_matches_change(link, &change));
    link->nl.flags = IFF_BROADCAST;
    g_assert_false(gd_link_matches_change(link, &change));
    /* What is not set is not compared. */
    change.set_state = false;
    g_assert_true(gd_link_matches_change(link, &change));
}

static void test_link_has_addr(void)
{
    g_autoptr(GPtrArray) links = new_links();
    GdLink *link = add_link(links, 1, "veth0", ARPHRD_ETHER, 68, 65535, 6);
    GdNlAddr a;
    g_assert_cmpint(gd_nl_cidr_parse("10.0.0.1/24", &a), ==, 0);
    a.ifindex = 1;
    g_assert_false(gd_link_has_addr(link, &a));
    g_array_append_val(link->addrs, a);
    g_assert_true(gd_link_has_addr(link, &a));

    GdNlAddr other;
    g_assert_cmpint(gd_nl_cidr_parse("10.0.0.1/16", &other), ==, 0);
    g_assert_false(gd_link_has_addr(link, &other));
    g_assert_cmpint(gd_nl_cidr_parse("10.0.0.2/24", &other), ==, 0);
    g_assert_false(gd_link_has_addr(link, &other));
    g_assert_cmpint(gd_nl_cidr_parse("fd00::1/64", &other), ==, 0);
    g_assert_false(gd_link_has_addr(link, &other));
    g_array_append_val(link->addrs, other);
    g_assert_true(gd_link_has_addr(link, &other));
}

static void test_format_names(void)
{
    g_autoptr(GPtrArray) names = g_ptr_array_new();
    const char *all[] = {"a", "b", "c", "d", "e"};

    g_autofree char *empty = gd_format_names(names, 3);
    g_assert_cmpstr(empty, ==, "");

    g_ptr_array_add(names, (gpointer)all[0]);
    g_autofree char *one = gd_format_names(names, 3);
    g_assert_cmpstr(one, ==, "a");

    for (size_t i = 1; i < G_N_ELEMENTS(all); i++)
        g_ptr_array_add(names, (gpointer)all[i]);
    g_autofree char *two = gd_format_names(names, 2);
    g_assert_cmpstr(two, ==, "a, b and 3 more");
    g_autofree char *four = gd_format_names(names, 4);
    g_assert_cmpstr(four, ==, "a, b, c, d and 1 more");
    g_autofree char *exact = gd_format_names(names, 5);
    g_assert_cmpstr(exact, ==, "a, b, c, d, e");
    g_autofree char *more = gd_format_names(names, 100);
    g_assert_cmpstr(more, ==, "a, b, c, d, e");

    /* 32k names stay short. */
    g_autoptr(GPtrArray) many = g_ptr_array_new_with_free_func(g_free);
    for (int i = 0; i < 32768; i++)
        g_ptr_array_add(many, g_strdup_printf("ifb%d", i));
    g_autofree char *text = gd_format_names(many, 3);
    g_assert_cmpstr(text, ==, "ifb0, ifb1, ifb2 and 32765 more");
}

static void test_op_lifecycle(void)
{
    static const GdOpKind kinds[] = {GD_OP_GROUP_CHANGE, GD_OP_SET_LINK_GROUP, GD_OP_ADDR_ADD,
                                     GD_OP_ADDR_DEL};
    for (size_t i = 0; i < G_N_ELEMENTS(kinds); i++) {
        g_autoptr(GdOp) op = gd_op_new(kinds[i], 42);
        g_assert_cmpint(op->kind, ==, kinds[i]);
        g_assert_cmpuint(op->group, ==, 42);
        g_assert_nonnull(op->targets);
        g_assert_cmpuint(op->targets->len, ==, 0);
        g_assert_nonnull(gd_op_kind_name(kinds[i]));
        g_assert_cmpstr(gd_op_kind_name(kinds[i]), !=, "?");
    }
    /* Acks with extack text are freed with the op. */
    GdOp *op = gd_op_new(GD_OP_ADDR_ADD, 1);
    int targets[] = {1, 2};
    g_array_append_vals(op->targets, targets, 2);
    op->acks = g_new0(GdNlAck, 2);
    op->acks[1].error = -EINVAL;
    op->acks[1].extack = g_strdup("bad");
    op->extack = g_strdup("also bad");
    gd_op_free(op);
    gd_op_free(NULL);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    g_test_add_func("/errors/names", test_error_names);
    g_test_add_func("/errors/from-errno/own", test_from_errno_own);
    g_test_add_func("/errors/from-errno/kernel", test_from_errno_kernel);
    g_test_add_func("/errors/from-errno/not-negative", test_from_errno_positive);

    g_test_add_func("/ops/validate/mtu", test_validate_mtu);
    g_test_add_func("/ops/validate/hwaddr", test_validate_hwaddr);
    g_test_add_func("/ops/link-matches-change", test_link_matches_change);
    g_test_add_func("/ops/link-has-addr", test_link_has_addr);
    g_test_add_func("/ops/format-names", test_format_names);
    g_test_add_func("/ops/op-lifecycle", test_op_lifecycle);

    return g_test_run();
}
