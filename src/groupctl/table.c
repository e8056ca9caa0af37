/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Aligned text tables: widths from the widest cell (in characters, not
 * bytes), colour escapes kept out of the width. */
#include <string.h>

#include "groupctl.h"
#include "text/text.h"

struct Table {
    unsigned columns;
    char **headers;
    Align *align;
    unsigned *min_width;
    GPtrArray *rows; /* char** of columns cells, then the colour at [columns] */
    GArray *colour_column;
};

Table *table_new(unsigned columns, const char *const *headers, const Align *align)
{
    Table *t = g_new0(Table, 1);
    t->columns = columns;
    t->headers = g_new0(char *, columns + 1);
    t->align = g_new0(Align, columns);
    t->min_width = g_new0(unsigned, columns);
    for (unsigned i = 0; i < columns; i++) {
        t->headers[i] = g_strdup(headers[i]);
        t->align[i] = align ? align[i] : ALIGN_LEFT;
    }
    t->rows = g_ptr_array_new_with_free_func((GDestroyNotify)g_strfreev);
    t->colour_column = g_array_new(FALSE, FALSE, sizeof(int));
    return t;
}

void table_set_min_width(Table *t, unsigned column, unsigned width)
{
    t->min_width[column] = width;
}

void table_add_row(Table *t, const char *const *cells, int colour_column, const char *colour)
{
    char **row = g_new0(char *, t->columns + 2);
    for (unsigned i = 0; i < t->columns; i++)
        row[i] = gd_text_escape_controls(cells[i] ? cells[i] : "");
    /* The colour rides after the cells; "" (not NULL) keeps g_strfreev whole. */
    row[t->columns] = g_strdup(colour ? colour : "");
    g_ptr_array_add(t->rows, row);
    g_array_append_val(t->colour_column, colour_column);
}

static unsigned text_width(const char *s)
{
    return (unsigned)g_utf8_strlen(s, -1);
}

static void print_cell(const char *text, unsigned width, Align align, bool last, const char *colour)
{
    unsigned pad = width - text_width(text);
    if (align == ALIGN_RIGHT)
        printf("%*s", (int)pad, "");
    if (colour && *colour)
        printf("%s%s%s", colour, text, colour_off());
    else
        fputs(text, stdout);
    /* No trailing blanks after the last column. */
    if (align == ALIGN_LEFT && !last)
        printf("%*s", (int)pad, "");
}

void table_print(Table *t, bool legend)
{
    g_autofree unsigned *width = g_new0(unsigned, t->columns);
    for (unsigned c = 0; c < t->columns; c++) {
        width[c] = MAX(t->min_width[c], legend ? text_width(t->headers[c]) : 0);
        for (unsigned r = 0; r < t->rows->len; r++) {
            char **row = t->rows->pdata[r];
            width[c] = MAX(width[c], text_width(row[c]));
        }
    }
    if (legend) {
        for (unsigned c = 0; c < t->columns; c++) {
            if (c)
                fputc(' ', stdout);
            print_cell(t->headers[c], width[c], t->align[c], c + 1 == t->columns, NULL);
        }
        fputc('\n', stdout);
    }
    for (unsigned r = 0; r < t->rows->len; r++) {
        char **row = t->rows->pdata[r];
        int cc = g_array_index(t->colour_column, int, r);
        for (unsigned c = 0; c < t->columns; c++) {
            if (c)
                fputc(' ', stdout);
            print_cell(row[c], width[c], t->align[c], c + 1 == t->columns,
                       (int)c == cc ? row[t->columns] : NULL);
        }
        fputc('\n', stdout);
    }
}

void table_free(Table *t)
{
    if (!t)
        return;
    g_strfreev(t->headers);
    g_free(t->align);
    g_free(t->min_width);
    g_ptr_array_unref(t->rows);
    g_array_unref(t->colour_column);
    g_free(t);
}
