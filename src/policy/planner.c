/* SPDX-License-Identifier: LGPL-2.1-or-later
 * The pure planner: policies + link snapshot + overrides → plan → ops/JSON. */
#include "planner.h"
#include "policy/conflicts.h"
#include "text/text.h"

#include <errno.h>
#include <string.h>

#include <json-glib/json-glib.h>

/* The [Link] attributes, in the order of the config documentation. */
typedef enum {
    ATTR_MTU,
    ATTR_STATE,
    ATTR_HWADDR,
    ATTR_TXQLEN,
    N_ATTRS,
} Attr;

static const char *const attr_keys[N_ATTRS] = {"MTU", "State", "MACAddress", "TxQueueLength"};

/* The single attribute attr of from, into *out; FALSE when from does not
 * set it. Lets the per-attribute questions reuse gd_link_matches_change(). */
static gboolean attr_only(const GdNlLinkChange *from, Attr attr, GdNlLinkChange *out)
{
    memset(out, 0, sizeof(*out));
    switch (attr) {
    case ATTR_MTU:
        out->set_mtu = from->set_mtu;
        out->mtu = from->mtu;
        return from->set_mtu;
    case ATTR_STATE:
        out->set_state = from->set_state;
        out->up = from->up;
        return from->set_state;
    case ATTR_HWADDR:
        out->set_hwaddr = from->set_hwaddr;
        memcpy(out->hwaddr, from->hwaddr, sizeof(out->hwaddr));
        out->hwaddr_len = from->hwaddr_len;
        return from->set_hwaddr;
    case ATTR_TXQLEN:
        out->set_txqlen = from->set_txqlen;
        out->txqlen = from->txqlen;
        return from->set_txqlen;
    case N_ATTRS:
        break;
    }
    return FALSE;
}

gboolean gd_plan_change_is_empty(const GdNlLinkChange *change)
{
    return !change->set_mtu && !change->set_state && !change->set_hwaddr && !change->set_txqlen;
}

void gd_plan_match_input(const GdLink *link, const char *type, const char *driver,
                         GdMatchInput *match)
{
    memset(match, 0, sizeof(*match));
    match->name = link->nl.name;
    match->kind = link->nl.kind;
    match->type = type;
    match->driver = driver;
    match->hwaddr = link->nl.hwaddr_len ? link->nl.hwaddr : NULL;
    match->hwaddr_len = link->nl.hwaddr_len;
    match->group = link->nl.group;
    match->managed_by = "none"; /* the engine says otherwise */
}

/* ---- plan structs ---- */

static void addr_add_free(GdPlanAddrAdd *add)
{
    g_array_unref(add->targets);
    g_ptr_array_unref(add->names);
    g_free(add);
}

static void plan_group_free(GdPlanGroup *group)
{
    if (!group)
        return;
    g_free(group->name);
    g_array_unref(group->moves);
    g_array_unref(group->members);
    g_ptr_array_unref(group->addr_adds);
    g_ptr_array_unref(group->problems);
    g_free(group);
}

void gd_plan_free(GdPlan *plan)
{
    if (!plan)
        return;
    g_clear_pointer(&plan->groups, g_ptr_array_unref);
    g_clear_pointer(&plan->conflicts, g_ptr_array_unref);
    g_free(plan);
}

static GdPlanGroup *plan_group_new(const GdGroupPolicy *policy, GHashTable *overrides)
{
    GdPlanGroup *group = g_new0(GdPlanGroup, 1);
    group->id = policy->id;
    group->name = g_strdup(policy->name);
    group->desired = policy->link;
    const GdNlLinkChange *override =
        overrides ? g_hash_table_lookup(overrides, GUINT_TO_POINTER(policy->id)) : NULL;
    if (override) {
        gd_link_change_merge(&group->desired, override);
        group->overridden = TRUE;
    }
    group->moves = g_array_new(FALSE, FALSE, sizeof(GdPlanMove));
    group->members = g_array_new(FALSE, FALSE, sizeof(GdNlLink));
    group->addr_adds = g_ptr_array_new_with_free_func((GDestroyNotify)addr_add_free);
    return group;
}

/* ---- planning ---- */

static int compare_facts(gconstpointer a, gconstpointer b)
{
    const GdPlanLinkFacts *x = *(const GdPlanLinkFacts *const *)a;
    const GdPlanLinkFacts *y = *(const GdPlanLinkFacts *const *)b;
    return (x->link->nl.ifindex > y->link->nl.ifindex) -
           (x->link->nl.ifindex < y->link->nl.ifindex);
}

static gboolean has_every_addr(const GdLink *link, const GArray *addrs)
{
    for (guint i = 0; i < addrs->len; i++)
        if (!gd_link_has_addr(link, &g_array_index(addrs, GdNlAddr, i)))
            return FALSE;
    return TRUE;
}

/* The conflict bit of each [Link] attribute: what a yielding member keeps
 * out of the group message. */
static const guint32 attr_conflict[N_ATTRS] = {
    [ATTR_MTU] = GD_CONFLICT_BIT(GD_CONFLICT_MTU),
    [ATTR_STATE] = GD_CONFLICT_BIT(GD_CONFLICT_STATE),
    [ATTR_HWADDR] = GD_CONFLICT_BIT(GD_CONFLICT_HWADDR),
    [ATTR_TXQLEN] = GD_CONFLICT_BIT(GD_CONFLICT_TXQLEN),
};

/* future: GdLink *, ascending ifindex; yields: what its members yield. */
static void plan_change(GdPlanGroup *group, GPtrArray *future, guint32 yields)
{
    for (Attr a = 0; a < N_ATTRS; a++) {
        GdNlLinkChange one;
        if (!attr_only(&group->desired, a, &one) || (yields & attr_conflict[a]))
            continue;
        for (guint i = 0; i < future->len; i++) {
            if (!gd_link_matches_change(future->pdata[i], &one)) {
                gd_link_change_merge(&group->change, &one);
                break;
            }
        }
    }
    /* Validate only what is sent: an attribute nobody lacks is not in the
     * message, so a member's limit on it cannot stop the kernel. */
    if (gd_plan_change_is_empty(&group->change))
        group->problems = g_ptr_array_new_with_free_func(g_free);
    else
        group->problems = gd_op_validate_change(future, &group->change);
}

static void plan_addresses(GdPlanGroup *group, const GArray *addrs, GPtrArray *future,
                           GArray *future_yields)
{
    for (guint a = 0; a < addrs->len; a++) {
        const GdNlAddr *addr = &g_array_index(addrs, GdNlAddr, a);
        GdPlanAddrAdd *add = NULL;
        for (guint i = 0; i < future->len; i++) {
            const GdLink *link = future->pdata[i];
            if (gd_link_has_addr(link, addr) ||
                (g_array_index(future_yields, guint32, i) & GD_CONFLICT_BIT(GD_CONFLICT_ADDRESS)))
                continue;
            if (!add) {
                add = g_new0(GdPlanAddrAdd, 1);
                add->addr = *addr;
                add->addr.ifindex = 0;
                add->targets = g_array_new(FALSE, FALSE, sizeof(int));
                add->names = g_ptr_array_new_with_free_func(g_free);
                g_ptr_array_add(group->addr_adds, add);
            }
            g_array_append_val(add->targets, link->nl.ifindex);
            g_ptr_array_add(add->names, g_strdup(link->nl.name));
        }
    }
}

int gd_plan_build(const GdConfig *config, const GdPlanLinkFacts *facts, guint n,
                  GHashTable *overrides, GdPlan **out)
{
    g_autoptr(GPtrArray) sorted = g_ptr_array_sized_new(n);
    *out = NULL;
    for (guint i = 0; i < n; i++) {
        if (!facts[i].link)
            return -EINVAL;
        g_ptr_array_add(sorted, (gpointer)&facts[i]);
    }
    g_ptr_array_sort(sorted, compare_facts);
    for (guint i = 1; i < sorted->len; i++)
        if (compare_facts(&sorted->pdata[i - 1], &sorted->pdata[i]) == 0)
            return -EINVAL;

    /* Membership first: each link's policy, decided once. */
    g_autofree const GdGroupPolicy **owner = g_new0(const GdGroupPolicy *, MAX(n, 1));
    for (guint i = 0; i < sorted->len; i++) {
        const GdPlanLinkFacts *f = sorted->pdata[i];
        owner[i] = gd_config_first_match(config, &f->match);
    }

    g_autoptr(GdPlan) plan = g_new0(GdPlan, 1);
    plan->groups = g_ptr_array_new_with_free_func((GDestroyNotify)plan_group_free);
    for (guint p = 0; p < config->policies->len; p++) {
        const GdGroupPolicy *policy = config->policies->pdata[p];
        GdPlanGroup *group = plan_group_new(policy, overrides);
        g_ptr_array_add(plan->groups, group);
        g_autoptr(GPtrArray) future = g_ptr_array_new();
        g_autoptr(GArray) future_yields = g_array_new(FALSE, FALSE, sizeof(guint32));
        guint32 yields = 0;

        for (guint i = 0; i < sorted->len; i++) {
            const GdPlanLinkFacts *f = sorted->pdata[i];
            const GdLink *link = f->link;
            gboolean in_group = link->nl.group == policy->id;
            if (in_group) {
                group->n_current++;
                if (!gd_link_matches_change(link, &group->desired) ||
                    !has_every_addr(link, policy->addresses))
                    group->drifted++;
            }
            /* Unmatched links already in the group stay: the group
             * message reaches them whether we like it or not. */
            if (owner[i] != policy && !(in_group && !owner[i]))
                continue;
            /* Left to its other manager (OtherManagers=yield). */
            if (!in_group && f->yields)
                continue;
            g_ptr_array_add(future, (gpointer)link);
            g_array_append_val(future_yields, f->yields);
            yields |= f->yields;
            g_array_append_val(group->members, link->nl);
            if (!in_group) {
                GdPlanMove move = {.ifindex = link->nl.ifindex, .from = link->nl.group};
                g_strlcpy(move.name, link->nl.name, sizeof(move.name));
                g_array_append_val(group->moves, move);
            }
        }
        plan_change(group, future, yields);
        plan_addresses(group, policy->addresses, future, future_yields);
    }
    *out = g_steal_pointer(&plan);
    return 0;
}

const GdPlanGroup *gd_plan_group(const GdPlan *plan, uint32_t id)
{
    for (guint i = 0; i < plan->groups->len; i++) {
        const GdPlanGroup *group = plan->groups->pdata[i];
        if (group->id == id)
            return group;
    }
    return NULL;
}

gboolean gd_plan_is_empty(const GdPlan *plan)
{
    for (guint i = 0; i < plan->groups->len; i++) {
        const GdPlanGroup *group = plan->groups->pdata[i];
        if (group->moves->len > 0 || !gd_plan_change_is_empty(&group->change) ||
            group->addr_adds->len > 0)
            return FALSE;
    }
    return TRUE;
}

/* ---- operations ---- */

GPtrArray *gd_plan_to_ops(const GdPlan *plan)
{
    GPtrArray *ops = g_ptr_array_new_with_free_func((GDestroyNotify)gd_op_free);
    /* Moves first: the group messages must reach the members they bring. */
    for (guint i = 0; i < plan->groups->len; i++) {
        const GdPlanGroup *group = plan->groups->pdata[i];
        if (group->moves->len == 0)
            continue;
        GdOp *op = gd_op_new(GD_OP_SET_LINK_GROUP, group->id);
        for (guint m = 0; m < group->moves->len; m++)
            g_array_append_val(op->targets, g_array_index(group->moves, GdPlanMove, m).ifindex);
        g_ptr_array_add(ops, op);
    }
    for (guint i = 0; i < plan->groups->len; i++) {
        const GdPlanGroup *group = plan->groups->pdata[i];
        if (gd_plan_change_is_empty(&group->change))
            continue;
        GdOp *op = gd_op_new(GD_OP_GROUP_CHANGE, group->id);
        op->change = group->change;
        for (guint m = 0; m < group->members->len; m++)
            g_array_append_val(op->targets, g_array_index(group->members, GdNlLink, m).ifindex);
        g_ptr_array_add(ops, op);
    }
    /* Addresses last: a State=up in the group message comes before them. */
    for (guint i = 0; i < plan->groups->len; i++) {
        const GdPlanGroup *group = plan->groups->pdata[i];
        for (guint a = 0; a < group->addr_adds->len; a++) {
            const GdPlanAddrAdd *add = group->addr_adds->pdata[a];
            GdOp *op = gd_op_new(GD_OP_ADDR_ADD, group->id);
            op->addr = add->addr;
            g_array_append_vals(op->targets, add->targets->data, add->targets->len);
            g_ptr_array_add(ops, op);
        }
    }
    return ops;
}

/* ---- JSON (json-glib) ---- */

/* A name as a JSON string; NULL is null. Interface and file names are
 * bytes, not UTF-8: the string is their shown form (text/text.h), as on the
 * bus, so the document stays valid (json-glib writes strings as they are). */
static void add_name(JsonBuilder *b, const char *name)
{
    if (!name) {
        json_builder_add_null_value(b);
        return;
    }
    g_autofree char *shown = gd_text_escape(name);
    json_builder_add_string_value(b, shown);
}

static void add_names(JsonBuilder *b, GPtrArray *names)
{
    json_builder_begin_array(b);
    for (guint i = 0; i < names->len; i++)
        add_name(b, names->pdata[i]);
    json_builder_end_array(b);
}

/* The JSON value of attr in change (which sets it). */
static JsonNode *attr_value(const GdNlLinkChange *change, Attr attr)
{
    JsonNode *node = json_node_alloc();
    switch (attr) {
    case ATTR_MTU:
        return json_node_init_int(node, change->mtu);
    case ATTR_STATE:
        return json_node_init_string(node, change->up ? "up" : "down");
    case ATTR_HWADDR: {
        if (change->hwaddr_len == 0)
            return json_node_init_null(node);
        g_autofree char *text = gd_nl_hwaddr_format(change->hwaddr, change->hwaddr_len);
        return json_node_init_string(node, text);
    }
    case ATTR_TXQLEN:
        return json_node_init_int(node, change->txqlen);
    case N_ATTRS:
        break;
    }
    return json_node_init_null(node);
}

/* A link's current attributes, all set: the "from" side. */
static GdNlLinkChange link_state(const GdNlLink *nl)
{
    GdNlLinkChange state = {
        .set_mtu = true,
        .mtu = nl->mtu,
        .set_state = true,
        .up = (nl->flags & IFF_UP) != 0,
        .set_hwaddr = true,
        .hwaddr_len = nl->hwaddr_len,
        .set_txqlen = true,
        .txqlen = nl->txqlen,
    };
    memcpy(state.hwaddr, nl->hwaddr, sizeof(state.hwaddr));
    return state;
}

static void add_desired(JsonBuilder *b, const GdNlLinkChange *change)
{
    json_builder_begin_object(b);
    for (Attr a = 0; a < N_ATTRS; a++) {
        GdNlLinkChange one;
        if (!attr_only(change, a, &one))
            continue;
        json_builder_set_member_name(b, attr_keys[a]);
        json_builder_add_value(b, attr_value(change, a));
    }
    json_builder_end_object(b);
}

typedef struct {
    JsonNode *value;
    GPtrArray *names; /* const char *, into the plan */
} Bucket;

static void bucket_free(Bucket *bucket)
{
    json_node_unref(bucket->value);
    g_ptr_array_unref(bucket->names);
    g_free(bucket);
}

/* "from": the members lacking attr, grouped by their current value. */
static void add_from(JsonBuilder *b, const GdPlanGroup *group, Attr attr)
{
    g_autoptr(GPtrArray) buckets = g_ptr_array_new_with_free_func((GDestroyNotify)bucket_free);
    /* The value's JSON text → its bucket. */
    g_autoptr(GHashTable) by_value = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    GdNlLinkChange want;
    attr_only(&group->change, attr, &want);
    for (guint i = 0; i < group->members->len; i++) {
        const GdNlLink *nl = &g_array_index(group->members, GdNlLink, i);
        GdLink view = {.nl = *nl};
        if (gd_link_matches_change(&view, &want))
            continue;
        GdNlLinkChange state = link_state(nl);
        g_autoptr(JsonNode) value = attr_value(&state, attr);
        g_autofree char *key = json_to_string(value, FALSE);
        Bucket *bucket = g_hash_table_lookup(by_value, key);
        if (!bucket) {
            bucket = g_new0(Bucket, 1);
            bucket->value = g_steal_pointer(&value);
            bucket->names = g_ptr_array_new();
            g_ptr_array_add(buckets, bucket);
            g_hash_table_insert(by_value, g_steal_pointer(&key), bucket);
        }
        g_ptr_array_add(bucket->names, (gpointer)nl->name);
    }
    json_builder_begin_array(b);
    for (guint i = 0; i < buckets->len; i++) {
        const Bucket *bucket = buckets->pdata[i];
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "value");
        json_builder_add_value(b, json_node_ref(bucket->value));
        json_builder_set_member_name(b, "links");
        add_names(b, bucket->names);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
}

static void add_change(JsonBuilder *b, const GdPlanGroup *group)
{
    if (gd_plan_change_is_empty(&group->change)) {
        json_builder_add_null_value(b);
        return;
    }
    json_builder_begin_object(b);
    for (Attr a = 0; a < N_ATTRS; a++) {
        GdNlLinkChange one;
        if (!attr_only(&group->change, a, &one))
            continue;
        json_builder_set_member_name(b, attr_keys[a]);
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "to");
        json_builder_add_value(b, attr_value(&group->change, a));
        json_builder_set_member_name(b, "from");
        add_from(b, group, a);
        json_builder_end_object(b);
    }
    json_builder_end_object(b);
}

/* How one operation would reach the kernel. */
static void add_path(JsonBuilder *b, const GdOp *op, GdPlanPathFunc choose, gpointer user_data)
{
    GdKpathChoice c;
    choose(op, &c, user_data);
    gboolean group = c.path == GD_KPATH_GROUP;
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "path");
    json_builder_add_string_value(b, gd_kpath_name(c.path));
    json_builder_set_member_name(b, "messages");
    json_builder_add_int_value(b, group ? 1 : (gint64)c.messages);
    json_builder_set_member_name(b, "chunk");
    if (group)
        json_builder_add_null_value(b);
    else
        json_builder_add_int_value(b, c.chunk);
    json_builder_set_member_name(b, "expected_ms");
    json_builder_add_double_value(b, (group ? c.group_ns : c.per_link_ns) / 1e6);
    json_builder_set_member_name(b, "hold_ms");
    json_builder_add_double_value(b, c.hold_ns / 1e6);
    json_builder_set_member_name(b, "group_ms");
    if (c.group_possible)
        json_builder_add_double_value(b, c.group_ns / 1e6);
    else
        json_builder_add_null_value(b);
    json_builder_set_member_name(b, "per_link_ms");
    json_builder_add_double_value(b, c.per_link_ns / 1e6);
    json_builder_set_member_name(b, "reason");
    json_builder_add_string_value(b, c.reason);
    json_builder_end_object(b);
}

/* "kernel": the paths of the group's operations (ops: the plan's). */
static void add_kernel(JsonBuilder *b, const GdPlanGroup *group, GPtrArray *ops,
                       GdPlanPathFunc choose, gpointer user_data)
{
    const GdOp *moves = NULL, *change = NULL;
    g_autoptr(GPtrArray) addresses = g_ptr_array_new();
    for (guint i = 0; i < ops->len; i++) {
        const GdOp *op = ops->pdata[i];
        if (op->group != group->id)
            continue;
        if (op->kind == GD_OP_SET_LINK_GROUP)
            moves = op;
        else if (op->kind == GD_OP_GROUP_CHANGE)
            change = op;
        else
            g_ptr_array_add(addresses, (gpointer)op);
    }
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "moves");
    if (moves)
        add_path(b, moves, choose, user_data);
    else
        json_builder_add_null_value(b);
    json_builder_set_member_name(b, "change");
    if (change)
        add_path(b, change, choose, user_data);
    else
        json_builder_add_null_value(b);
    json_builder_set_member_name(b, "addresses");
    json_builder_begin_array(b);
    for (guint i = 0; i < addresses->len; i++)
        add_path(b, addresses->pdata[i], choose, user_data);
    json_builder_end_array(b);
    json_builder_end_object(b);
}

static void add_group(JsonBuilder *b, const GdPlan *plan, const GdPlanGroup *group, GPtrArray *ops,
                      GdPlanPathFunc choose, gpointer user_data)
{
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "id");
    json_builder_add_int_value(b, group->id);
    json_builder_set_member_name(b, "name");
    add_name(b, group->name);
    json_builder_set_member_name(b, "members");
    json_builder_add_int_value(b, group->members->len);
    json_builder_set_member_name(b, "drifted");
    json_builder_add_int_value(b, group->drifted);
    json_builder_set_member_name(b, "override");
    json_builder_add_boolean_value(b, group->overridden);
    json_builder_set_member_name(b, "desired");
    add_desired(b, &group->desired);

    json_builder_set_member_name(b, "moves");
    json_builder_begin_array(b);
    for (guint i = 0; i < group->moves->len; i++) {
        const GdPlanMove *move = &g_array_index(group->moves, GdPlanMove, i);
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "link");
        add_name(b, move->name);
        json_builder_set_member_name(b, "from");
        json_builder_add_int_value(b, move->from);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    json_builder_set_member_name(b, "change");
    add_change(b, group);

    json_builder_set_member_name(b, "addresses");
    json_builder_begin_array(b);
    for (guint i = 0; i < group->addr_adds->len; i++) {
        const GdPlanAddrAdd *add = group->addr_adds->pdata[i];
        g_autofree char *text = gd_nl_addr_format(&add->addr);
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "address");
        json_builder_add_string_value(b, text);
        json_builder_set_member_name(b, "links");
        add_names(b, add->names);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    json_builder_set_member_name(b, "problems");
    add_names(b, group->problems);
    json_builder_set_member_name(b, "conflicts");
    gd_conflicts_to_json(b, plan->conflicts, group->id);
    if (choose) {
        json_builder_set_member_name(b, "kernel");
        add_kernel(b, group, ops, choose, user_data);
    }
    json_builder_end_object(b);
}

char *gd_plan_to_json(const GdPlan *plan)
{
    return gd_plan_to_json_with_paths(plan, NULL, NULL);
}

char *gd_plan_to_json_with_paths(const GdPlan *plan, GdPlanPathFunc choose, gpointer user_data)
{
    g_autoptr(GPtrArray) ops = choose ? gd_plan_to_ops(plan) : NULL;
    g_autoptr(JsonBuilder) b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "groups");
    json_builder_begin_array(b);
    for (guint i = 0; i < plan->groups->len; i++)
        add_group(b, plan, plan->groups->pdata[i], ops, choose, user_data);
    json_builder_end_array(b);
    json_builder_end_object(b);
    g_autoptr(JsonNode) root = json_builder_get_root(b);
    /* json-glib 1.6 (Debian 12) writes U+001F as is, which JSON forbids
     * (its generator escapes the controls below it only); a 0x1f byte of
     * its output can only be that character, inside a string. */
    g_autofree char *raw = json_to_string(root, FALSE);
    GString *text = g_string_new(raw);
    g_string_replace(text, "\x1f", "\\u001f", 0);
    return g_string_free(text, FALSE);
}
