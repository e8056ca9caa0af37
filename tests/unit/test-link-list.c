/* SPDX-License-Identifier: LGPL-2.1-or-later
 * gd_bus_link_list() serialises a(isuus) by hand: it must give exactly
 * the bytes GVariantBuilder gives, at every size of framing offset. */
#include "bus/bus.h"

#include <string.h>

static GVariant *with_builder(GPtrArray *links)
{
    GVariantBuilder b;
    g_variant_builder_init(&b, G_VARIANT_TYPE("a(isuus)"));
    for (guint i = 0; i < links->len; i++) {
        const GdLink *link = links->pdata[i];
        g_variant_builder_add(&b, "(isuus)", link->nl.ifindex, link->nl.name, link->nl.group,
                              link->nl.mtu, gd_link_operstate_name(link));
    }
    return g_variant_ref_sink(g_variant_builder_end(&b));
}

static void check_same(guint n, guint name_len)
{
    g_autoptr(GPtrArray) links = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < n; i++) {
        GdLink *link = g_new0(GdLink, 1);
        link->nl.ifindex = (int)(i * 7919 + 1);
        /* names of every length from 1 to name_len, cycling */
        guint len = 1 + i % name_len;
        for (guint k = 0; k < len; k++)
            link->nl.name[k] = (char)('a' + (i + k) % 26);
        link->nl.group = i % 3 == 0 ? 0xFFFFFFFFu : i;
        link->nl.mtu = 1500 + i;
        link->nl.operstate = (uint8_t)(i % 8); /* 7 is out of range: "unknown" */
        g_ptr_array_add(links, link);
    }
    g_autoptr(GVariant) want = with_builder(links);
    g_autoptr(GVariant) got = g_variant_ref_sink(gd_bus_link_list(links));
    g_assert_cmpstr(g_variant_get_type_string(got), ==, "a(isuus)");
    g_assert_cmpuint(g_variant_get_size(got), ==, g_variant_get_size(want));
    g_assert_cmpmem(g_variant_get_data(got), g_variant_get_size(got), g_variant_get_data(want),
                    g_variant_get_size(want));
    g_assert_true(g_variant_equal(got, want));
    /* And GLib reads it back as what it should be. */
    g_autoptr(GVariant) normal = g_variant_get_normal_form(got);
    g_assert_true(g_variant_is_normal_form(normal));
    g_assert_true(g_variant_equal(normal, want));
}

static void test_empty(void)
{
    check_same(0, 1);
}

static void test_one_byte_offsets(void)
{
    check_same(1, 15);
    check_same(5, 15);
}

static void test_two_byte_offsets(void)
{
    check_same(300, 15);
    check_same(1500, 9);
}

static void test_four_byte_offsets(void)
{
    check_same(32768, 15);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/link-list/empty", test_empty);
    g_test_add_func("/link-list/one-byte-offsets", test_one_byte_offsets);
    g_test_add_func("/link-list/two-byte-offsets", test_two_byte_offsets);
    g_test_add_func("/link-list/four-byte-offsets", test_four_byte_offsets);
    return g_test_run();
}
