/* SPDX-License-Identifier: LGPL-2.1-or-later
 * Outside text as it leaves on the bus: its shown form (text/text.h). */
#include "bus.h"
#include "text/text.h"

GVariant *gd_bus_shown_text(const char *raw)
{
    if (gd_text_is_plain(raw))
        return g_variant_new_string(raw);
    return g_variant_new_take_string(gd_text_escape(raw));
}

GError *gd_bus_shown_error(const GError *error)
{
    g_autofree char *message = gd_text_escape(error->message);
    return g_error_new_literal(error->domain, error->code, message);
}
