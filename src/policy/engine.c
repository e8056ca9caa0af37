/* SPDX-License-Identifier: LGPL-2.1-or-later
 * The policy engine: plan, apply, repair, back off, reload. */
#include "engine.h"

#include "log/log.h"
#include "policy/conflict-log.h"
#include "policy/facts.h"

#include <errno.h>
#include <string.h>

/* Back-off after the kernel refused a group's change: 1 s, 2 s, 4 s… */
#define BACKOFF_FIRST_MS 1000
#define BACKOFF_MAX_MS   60000
/* Applies in a row that the kernel accepted but the links did not keep
 * (something else changes them back): then it counts as a refusal. */
#define MAX_UNCONVERGED 3

typedef enum {
    TRIGGER_START,
    TRIGGER_RELOAD,
    TRIGGER_CHANGED, /* drift (and links that appeared, in the whole plan) */
    TRIGGER_RETRY,
    TRIGGER_HOTPLUG, /* links that appeared, planned alone */
} Trigger;

typedef struct {
    guint failures;
    gint64 retry_at; /* monotonic µs; 0: no back-off */
    char *last_error;
    guint unconverged;
    guint drifted;
    gboolean failed_now; /* during one apply */
    gboolean sent_now;
} GroupState;

typedef struct {
    GdEngineDoneFunc done;
    gpointer user_data;
} Waiter;

struct GdEngine {
    GdCache *cache;
    GdRunner *runner;
    const GdGroupNames *names;
    char *root;
    GdConfig *config;
    GHashTable *overrides; /* id → GdNlLinkChange * */
    guint reloads;         /* generation of the overrides */
    GHashTable *facts;     /* ifindex → GdLinkFacts * */
    GHashTable *groups;    /* id → GroupState * */
    GHashTable *inflight;  /* id → count of SetGroup calls the kernel has not answered */
    GdEngineChangedFunc changed;
    gpointer user_data;
    /* Who else manages each link (peers/), and the conflicts with it. */
    GdPeerLookupFunc peer_lookup;
    gpointer peer_data;
    GdConflictLog *conflict_log;

    guint debounce_timer;
    guint retry_timer;
    /* Links that appeared and wait for their hot-plug apply (ifindex set),
     * and the idle source that runs it. */
    GHashTable *hot;
    guint hot_source;
    /* The apply in progress. */
    gboolean applying;
    gboolean hotplug; /* …is a hot-plug apply */
    guint held;       /* cache holds it took over, released at its end */
    GPtrArray *ops;   /* GdOp *, what is left to run */
    guint next_op;
    GdPlan *plan;
    char *plan_json;
    GString *errors;
    GArray *waiters; /* Waiter, answered when this apply ends */
    /* Asked for while applying: another apply afterwards. */
    gboolean again;
    Trigger again_trigger;
    GArray *next_waiters;
};

static void group_state_free(gpointer data)
{
    GroupState *gs = data;
    g_free(gs->last_error);
    g_free(gs);
}

static GroupState *group_state(GdEngine *engine, uint32_t id)
{
    GroupState *gs = g_hash_table_lookup(engine->groups, GUINT_TO_POINTER(id));
    if (!gs) {
        gs = g_new0(GroupState, 1);
        gs->last_error = g_strdup("");
        g_hash_table_insert(engine->groups, GUINT_TO_POINTER(id), gs);
    }
    return gs;
}

static void notify(GdEngine *engine)
{
    if (engine->changed)
        engine->changed(engine, engine->user_data);
}

static void link_appeared_cb(GdCache *cache, int ifindex, gpointer user_data);

GdEngine *gd_engine_new(GdCache *cache, GdRunner *runner, const GdGroupNames *names,
                        const char *config_root, GdConfig *config, GdEngineChangedFunc changed,
                        gpointer user_data)
{
    GdEngine *engine = g_new0(GdEngine, 1);
    engine->cache = cache;
    engine->runner = runner;
    engine->names = names;
    engine->root = g_strdup(config_root);
    engine->config = config;
    engine->overrides = g_hash_table_new_full(NULL, NULL, NULL, g_free);
    engine->facts = g_hash_table_new_full(NULL, NULL, NULL, g_free);
    engine->groups = g_hash_table_new_full(NULL, NULL, NULL, group_state_free);
    engine->inflight = g_hash_table_new(NULL, NULL);
    engine->changed = changed;
    engine->user_data = user_data;
    engine->waiters = g_array_new(FALSE, FALSE, sizeof(Waiter));
    engine->next_waiters = g_array_new(FALSE, FALSE, sizeof(Waiter));
    engine->conflict_log = gd_conflict_log_new();
    engine->hot = g_hash_table_new(NULL, NULL);
    gd_cache_set_link_appeared(cache, link_appeared_cb, engine);
    return engine;
}

void gd_engine_free(GdEngine *engine)
{
    if (!engine)
        return;
    /* An apply still running ends unanswered: the daemon is exiting, and
     * the executor drops its queue. */
    g_clear_handle_id(&engine->debounce_timer, g_source_remove);
    g_clear_handle_id(&engine->retry_timer, g_source_remove);
    g_clear_handle_id(&engine->hot_source, g_source_remove);
    gd_cache_set_link_appeared(engine->cache, NULL, NULL);
    gd_cache_release_n(engine->cache, engine->held);
    engine->held = 0;
    if (engine->applying) {
        engine->applying = FALSE;
        engine->changed = NULL;
    }
    g_clear_pointer(&engine->ops, g_ptr_array_unref);
    g_clear_pointer(&engine->plan, gd_plan_free);
    g_free(engine->plan_json);
    if (engine->errors)
        g_string_free(engine->errors, TRUE);
    g_array_unref(engine->waiters);
    g_array_unref(engine->next_waiters);
    g_hash_table_unref(engine->overrides);
    g_hash_table_unref(engine->facts);
    g_hash_table_unref(engine->groups);
    g_hash_table_unref(engine->inflight);
    gd_conflict_log_free(engine->conflict_log);
    g_hash_table_unref(engine->hot);
    gd_config_free(engine->config);
    g_free(engine->root);
    g_free(engine);
}

const GdDaemonConfig *gd_engine_daemon_config(GdEngine *engine)
{
    return &engine->config->daemon;
}

const GdConfig *gd_engine_config(GdEngine *engine)
{
    return engine->config;
}

/* ---- planning ---- */

static const GdLinkFacts *link_facts(GdEngine *engine, const GdLink *link)
{
    GdLinkFacts *facts = g_hash_table_lookup(engine->facts, GINT_TO_POINTER(link->nl.ifindex));
    if (!facts) {
        /* Type and driver do not change during a link's life: read once. */
        facts = g_new0(GdLinkFacts, 1);
        gd_link_facts_read(NULL, &link->nl, facts);
        g_hash_table_insert(engine->facts, GINT_TO_POINTER(link->nl.ifindex), facts);
    }
    return facts;
}

/* Plans config over links (GdLink *). */
static GdPlan *plan_links(GdEngine *engine, const GdConfig *config, GHashTable *overrides,
                          GPtrArray *links)
{
    g_autofree GdPlanLinkFacts *input = g_new0(GdPlanLinkFacts, MAX(links->len, 1));
    GdPlan *plan = NULL;
    /* sysfs is read only for a [Match] that asks for Type= or Driver=: two
     * file reads per link were most of the first plan at 32768 links. */
    gboolean need_facts = FALSE;
    for (guint i = 0; i < config->policies->len && !need_facts; i++) {
        const GdGroupPolicy *p = config->policies->pdata[i];
        need_facts = p->match.type.set || p->match.driver.set;
    }
    for (guint i = 0; i < links->len; i++) {
        const GdLink *link = links->pdata[i];
        const GdLinkFacts *facts = need_facts ? link_facts(engine, link) : NULL;
        input[i].link = link;
        gd_plan_match_input(link, facts ? facts->type : NULL, facts ? facts->driver : NULL,
                            &input[i].match);
    }
    g_autoptr(GPtrArray) conflicts = gd_conflicts_prepare(config, overrides, input, links->len,
                                                          engine->peer_lookup, engine->peer_data);
    int r = gd_plan_build(config, input, links->len, overrides, &plan);
    g_assert(r == 0); /* the cache has unique ifindexes */
    gd_conflict_log_fill(engine->conflict_log, conflicts);
    plan->conflicts = g_steal_pointer(&conflicts);
    return plan;
}

static GdPlan *build_plan(GdEngine *engine, const GdConfig *config, GHashTable *overrides)
{
    g_autoptr(GPtrArray) links = gd_cache_links(engine->cache);
    if (g_hash_table_size(engine->facts) > links->len + 64) {
        /* Forget links that are gone. */
        GHashTableIter iter;
        gpointer key;
        g_hash_table_iter_init(&iter, engine->facts);
        while (g_hash_table_iter_next(&iter, &key, NULL))
            if (!gd_cache_link_by_index(engine->cache, GPOINTER_TO_INT(key)))
                g_hash_table_iter_remove(&iter);
    }
    return plan_links(engine, config, overrides, links);
}

/* The runner's choice for one of a plan's operations. */
static void choose_path_cb(const GdOp *op, GdKpathChoice *choice, gpointer user_data)
{
    GdEngine *engine = user_data;
    gd_runner_choose(engine->runner, op, choice);
}

/* The plan's JSON with the kernel path of each operation. */
static char *plan_json(GdEngine *engine, const GdPlan *plan)
{
    return gd_plan_to_json_with_paths(plan, choose_path_cb, engine);
}

char *gd_engine_plan_json(GdEngine *engine)
{
    g_autoptr(GdPlan) plan = build_plan(engine, engine->config, engine->overrides);
    return plan_json(engine, plan);
}

/* Drift counts from a fresh plan; TRUE when any changed. */
static gboolean update_drift(GdEngine *engine, const GdPlan *plan)
{
    gboolean any = FALSE;
    for (guint i = 0; i < plan->groups->len; i++) {
        const GdPlanGroup *pg = plan->groups->pdata[i];
        GroupState *gs = group_state(engine, pg->id);
        if (gs->drifted != pg->drifted) {
            gs->drifted = pg->drifted;
            any = TRUE;
        }
    }
    return any;
}

/* The groups whose operations go out now put groupd's value back over the
 * other manager's wherever a link shows that: one repair each. */
static gboolean count_repairs(GdEngine *engine, const GdPlan *plan)
{
    gboolean any = FALSE;
    for (guint i = 0; i < plan->conflicts->len; i++) {
        GdConflict *c = plan->conflicts->pdata[i];
        GroupState *gs = g_hash_table_lookup(engine->groups, GUINT_TO_POINTER(c->group));
        if (!c->yield && c->differs && gs && gs->sent_now) {
            gd_conflict_log_repair(engine->conflict_log, c);
            any = TRUE;
        }
    }
    return any;
}

/* ---- applying ---- */

static void set_error(GdEngine *engine, uint32_t id, const char *message)
{
    GroupState *gs = group_state(engine, id);
    gs->failed_now = TRUE;
    if (!g_str_equal(gs->last_error, message)) {
        g_free(gs->last_error);
        gs->last_error = g_strdup(message);
        gd_log_group(G_LOG_LEVEL_WARNING, id, "apply: %s", message);
    }
    if (engine->errors)
        g_string_append_printf(engine->errors, "%sgroup %s: %s", engine->errors->len ? "\n" : "",
                               GD_LOG_GROUP(id), message);
}

static void run_next_op(GdEngine *engine);
static void reconcile(GdEngine *engine, Trigger trigger, GdEngineDoneFunc done, gpointer user_data);

static gboolean retry_cb(gpointer user_data)
{
    GdEngine *engine = user_data;
    engine->retry_timer = 0;
    reconcile(engine, TRIGGER_RETRY, NULL, NULL);
    return G_SOURCE_REMOVE;
}

static void schedule_retry(GdEngine *engine)
{
    gint64 earliest = 0;
    GHashTableIter iter;
    gpointer value;
    g_hash_table_iter_init(&iter, engine->groups);
    while (g_hash_table_iter_next(&iter, NULL, &value)) {
        GroupState *gs = value;
        if (gs->retry_at && (!earliest || gs->retry_at < earliest))
            earliest = gs->retry_at;
    }
    g_clear_handle_id(&engine->retry_timer, g_source_remove);
    if (!earliest)
        return;
    gint64 delay_ms = MAX(0, (earliest - g_get_monotonic_time()) / 1000) + 1;
    engine->retry_timer = g_timeout_add((guint)delay_ms, retry_cb, engine);
}

static gboolean group_converged(const GdPlan *plan, uint32_t id)
{
    const GdPlanGroup *pg = gd_plan_group(plan, id);
    return !pg ||
           (pg->moves->len == 0 && gd_plan_change_is_empty(&pg->change) && pg->addr_adds->len == 0);
}

static void schedule_hotplug(GdEngine *engine);

static void finish_apply(GdEngine *engine)
{
    gint64 now = g_get_monotonic_time();
    gboolean changed = FALSE;
    gboolean hotplug = engine->hotplug;
    /* What is true now that the operations ran: Drifted, convergence. A
     * hot-plug apply leaves that to the next (debounced) whole plan: its
     * cost grows with every link, and hot-plug is the fast path. */
    g_autoptr(GdPlan) after =
        hotplug ? NULL : build_plan(engine, engine->config, engine->overrides);
    GHashTableIter iter;
    gpointer key, value;

    g_hash_table_iter_init(&iter, engine->groups);
    while (g_hash_table_iter_next(&iter, &key, &value)) {
        GroupState *gs = value;
        if (gs->failed_now) {
            gs->failures++;
            guint backoff = BACKOFF_FIRST_MS << MIN(gs->failures - 1, 6u);
            backoff = MIN(backoff, (guint)BACKOFF_MAX_MS);
            gs->retry_at = now + (gint64)backoff * 1000;
            gd_log_group(G_LOG_LEVEL_MESSAGE, GPOINTER_TO_UINT(key),
                         "retrying in %u ms (attempt %u failed)", backoff, gs->failures);
            changed = TRUE;
        } else if (hotplug) {
            /* New links being configured says nothing of the others. */
        } else if (gs->sent_now || (gs->retry_at && gs->retry_at <= now &&
                                    group_converged(after, GPOINTER_TO_UINT(key)))) {
            /* Sent and accepted, or due for a retry but converged meanwhile
             * (its members left, say): nothing to retry. */
            if (gs->failures || gs->last_error[0])
                changed = TRUE;
            gs->failures = 0;
            gs->retry_at = 0;
            g_free(gs->last_error);
            gs->last_error = g_strdup("");
        } else if (gs->retry_at && gs->retry_at <= now) {
            /* Due, but nothing was sent (RepairDrift=no, a SetGroup in
             * flight): the next change of links tries again; a timer in
             * the past would fire at once, forever. */
            gs->retry_at = 0;
        }
        gs->failed_now = gs->sent_now = FALSE;
    }

    g_autoptr(GArray) waiters = g_steal_pointer(&engine->waiters);
    engine->waiters = g_array_new(FALSE, FALSE, sizeof(Waiter));
    g_autofree char *json = g_steal_pointer(&engine->plan_json);
    g_autofree char *errors = NULL;
    if (engine->errors && engine->errors->len)
        errors = g_strdup(engine->errors->str);
    if (engine->errors) {
        g_string_free(engine->errors, TRUE);
        engine->errors = NULL;
    }
    g_clear_pointer(&engine->ops, g_ptr_array_unref);
    g_clear_pointer(&engine->plan, gd_plan_free);
    engine->applying = FALSE;
    engine->hotplug = FALSE;
    if (after) {
        changed |= update_drift(engine, after);
        changed |= gd_conflict_log_track(engine->conflict_log, after->conflicts);
    }
    /* A hot-plug apply publishes once, however many operations it ran. */
    gd_cache_release_n(engine->cache, engine->held);
    engine->held = 0;

    schedule_retry(engine);
    if (changed)
        notify(engine);
    for (guint i = 0; i < waiters->len; i++) {
        Waiter *w = &g_array_index(waiters, Waiter, i);
        w->done(engine, json, errors, w->user_data);
    }
    if (engine->again) {
        /* Callers that asked while this apply ran are answered by the next
         * one, which plans from what this one left. */
        engine->again = FALSE;
        g_array_append_vals(engine->waiters, engine->next_waiters->data, engine->next_waiters->len);
        g_array_set_size(engine->next_waiters, 0);
        reconcile(engine, engine->again_trigger, NULL, NULL);
        return;
    }
    schedule_hotplug(engine);
}

static void op_done_cb(GdOpResult *result, gpointer user_data)
{
    GdEngine *engine = user_data;
    const GdOp *op = result->op;
    if (!engine->applying)
        return; /* the engine was freed meanwhile (exit) */
    if (result->outcome != GD_OP_APPLIED) {
        g_autofree char *message = gd_op_result_describe(result, 8);
        set_error(engine, op->group, message);
    } else {
        gd_log_group(G_LOG_LEVEL_DEBUG, op->group, "apply: %s on %u links done in %.1f ms",
                     gd_op_kind_name(op->kind), op->targets->len, op->kernel_usec / 1000.0);
    }
    if (engine->hotplug) {
        /* Published with the rest of the batch, at its end. */
        gd_op_result_take_hold(result);
        engine->held++;
    } else {
        gd_op_result_release(result);
    }
    run_next_op(engine);
}

static void run_next_op(GdEngine *engine)
{
    if (engine->next_op >= engine->ops->len) {
        finish_apply(engine);
        return;
    }
    GdOp *op = engine->ops->pdata[engine->next_op];
    engine->ops->pdata[engine->next_op++] = NULL;
    gd_runner_submit(engine->runner, op, op_done_cb, engine);
}

/* The planner gives one address op per policy address; a group's
 * addresses all go in one sendmsg(). */
static GPtrArray *merge_address_ops(GPtrArray *ops)
{
    GPtrArray *merged = g_ptr_array_new_with_free_func((GDestroyNotify)gd_op_free);
    GdOp *current = NULL;
    for (guint i = 0; i < ops->len; i++) {
        GdOp *op = ops->pdata[i];
        ops->pdata[i] = NULL;
        if (op->kind != GD_OP_ADDR_ADD) {
            current = NULL;
            g_ptr_array_add(merged, op);
            continue;
        }
        if (!current || current->group != op->group) {
            current = gd_op_new(GD_OP_ADDR_ADD, op->group);
            current->addrs = g_array_new(FALSE, FALSE, sizeof(GdNlAddr));
            g_ptr_array_add(merged, current);
        }
        for (guint t = 0; t < op->targets->len; t++) {
            GdNlAddr addr = op->addr;
            addr.ifindex = g_array_index(op->targets, int, t);
            g_array_append_val(current->targets, addr.ifindex);
            g_array_append_val(current->addrs, addr);
        }
        gd_op_free(op);
    }
    g_ptr_array_unref(ops);
    return merged;
}

static gboolean keep_op(GdEngine *engine, Trigger trigger, const GdOp *op, gint64 now)
{
    const GdPlanGroup *pg = gd_plan_group(engine->plan, op->group);
    GroupState *gs = group_state(engine, op->group);
    /* New links get their policy at once, whatever the group's back-off
     * or a SetGroup in flight (the policy's state includes it), and with
     * RepairDrift=no too. */
    if (trigger != TRIGGER_HOTPLUG) {
        if (gs->retry_at > now)
            return FALSE; /* backing off; the retry timer comes back */
        if (g_hash_table_contains(engine->inflight, GUINT_TO_POINTER(op->group)))
            return FALSE; /* a SetGroup on it is with the kernel */
        if ((trigger == TRIGGER_CHANGED || trigger == TRIGGER_RETRY) &&
            !engine->config->daemon.repair_drift && pg && pg->moves->len == 0)
            return FALSE; /* drift is not repaired; new members still join */
    }
    if (op->kind == GD_OP_GROUP_CHANGE && pg && pg->problems->len > 0) {
        g_autofree char *list = gd_format_names(pg->problems, 8);
        g_autofree char *message =
            g_strdup_printf("group change not sent: members would refuse it: %s", list);
        set_error(engine, op->group, message);
        return FALSE;
    }
    return TRUE;
}

static void reconcile(GdEngine *engine, Trigger trigger, GdEngineDoneFunc done, gpointer user_data)
{
    Waiter waiter = {done, user_data};
    if (engine->applying) {
        /* After the current apply, plan again from what it left. */
        if (!engine->again || trigger < engine->again_trigger)
            engine->again_trigger = trigger;
        engine->again = TRUE;
        if (done)
            g_array_append_val(engine->next_waiters, waiter);
        return;
    }
    g_clear_handle_id(&engine->debounce_timer, g_source_remove);
    /* The whole plan covers the links that appeared so far. */
    g_hash_table_remove_all(engine->hot);

    engine->plan = build_plan(engine, engine->config, engine->overrides);
    gboolean drift_changed = update_drift(engine, engine->plan);
    gint64 now = g_get_monotonic_time();

    g_autoptr(GPtrArray) all = merge_address_ops(gd_plan_to_ops(engine->plan));
    engine->ops = g_ptr_array_new_with_free_func((GDestroyNotify)gd_op_free);
    engine->errors = g_string_new(NULL);
    engine->next_op = 0;
    engine->applying = TRUE;
    if (done)
        g_array_append_val(engine->waiters, waiter);
    /* Only a caller waiting for the apply reads its plan. */
    if (engine->waiters->len > 0)
        engine->plan_json = plan_json(engine, engine->plan);

    /* Groups the plan leaves alone have converged. */
    for (guint i = 0; i < engine->plan->groups->len; i++) {
        const GdPlanGroup *pg = engine->plan->groups->pdata[i];
        if (pg->moves->len == 0 && gd_plan_change_is_empty(&pg->change) && pg->addr_adds->len == 0)
            group_state(engine, pg->id)->unconverged = 0;
    }
    g_autoptr(GHashTable) counted = g_hash_table_new(NULL, NULL);
    for (guint i = 0; i < all->len; i++) {
        GdOp *op = all->pdata[i];
        if (!keep_op(engine, trigger, op, now))
            continue;
        GroupState *gs = group_state(engine, op->group);
        if (g_hash_table_add(counted, GUINT_TO_POINTER(op->group)) &&
            ++gs->unconverged > MAX_UNCONVERGED) {
            set_error(engine, op->group,
                      "the kernel accepted the change but the links do not keep it");
            gs->unconverged = 0;
            continue;
        }
        gs->sent_now = TRUE;
        all->pdata[i] = NULL;
        g_ptr_array_add(engine->ops, op);
    }
    drift_changed |= gd_conflict_log_track(engine->conflict_log, engine->plan->conflicts);
    drift_changed |= count_repairs(engine, engine->plan);
    if (engine->ops->len > 0)
        g_message("apply (%s): %u operations",
                  trigger == TRIGGER_START    ? "start"
                  : trigger == TRIGGER_RELOAD ? "reload"
                  : trigger == TRIGGER_RETRY  ? "retry"
                                              : "links changed",
                  engine->ops->len);
    if (drift_changed)
        notify(engine);
    run_next_op(engine);
}

/* ---- hot-plug ----
 *
 * A link that appears (or is renamed) is planned alone, at once: its
 * move, what it lacks of its policy's [Link] (one message per such link:
 * the other members are not touched, and their drift is left to the
 * debounced repair) and its addresses. Links that appear while an apply
 * runs wait for its end and go together: the batch is whatever arrived
 * meanwhile, so a quiet link waits for nothing and a burst is applied in
 * a few rounds. */

static int compare_int(gconstpointer a, gconstpointer b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static void apply_hotplug(GdEngine *engine)
{
    g_autoptr(GArray) ids = g_array_new(FALSE, FALSE, sizeof(int));
    GHashTableIter iter;
    gpointer key;
    g_hash_table_iter_init(&iter, engine->hot);
    while (g_hash_table_iter_next(&iter, &key, NULL))
        g_array_append_vals(ids, &(int){GPOINTER_TO_INT(key)}, 1);
    g_hash_table_remove_all(engine->hot);
    g_array_sort(ids, compare_int);
    /* Gone already: nothing to do, nothing to say. */
    g_autoptr(GPtrArray) links = g_ptr_array_new();
    for (guint i = 0; i < ids->len; i++) {
        GdLink *link = gd_cache_link_by_index(engine->cache, g_array_index(ids, int, i));
        if (link)
            g_ptr_array_add(links, link);
    }
    if (links->len == 0)
        return;

    engine->plan = plan_links(engine, engine->config, engine->overrides, links);
    engine->hotplug = TRUE;
    g_autoptr(GPtrArray) all = merge_address_ops(gd_plan_to_ops(engine->plan));
    engine->ops = g_ptr_array_new_with_free_func((GDestroyNotify)gd_op_free);
    engine->errors = g_string_new(NULL);
    engine->next_op = 0;
    engine->applying = TRUE;
    gint64 now = g_get_monotonic_time();
    for (guint i = 0; i < all->len; i++) {
        GdOp *op = all->pdata[i];
        if (!keep_op(engine, TRIGGER_HOTPLUG, op, now))
            continue;
        /* For these links only: never a group message. */
        op->subset = op->kind == GD_OP_GROUP_CHANGE;
        all->pdata[i] = NULL;
        g_ptr_array_add(engine->ops, op);
    }
    if (engine->ops->len > 0)
        g_message("apply (hot-plug): %u operations for %u new links", engine->ops->len, links->len);
    run_next_op(engine);
}

static gboolean hotplug_cb(gpointer user_data)
{
    GdEngine *engine = user_data;
    engine->hot_source = 0;
    if (!engine->applying && g_hash_table_size(engine->hot) > 0)
        apply_hotplug(engine);
    return G_SOURCE_REMOVE;
}

/* At the default priority, the hot-plug runs in the same loop iteration
 * as the events that announced the links (the event socket is read in
 * slices): no timer, no wait behind lower-priority work. */
static void schedule_hotplug(GdEngine *engine)
{
    if (engine->hot_source || engine->applying || g_hash_table_size(engine->hot) == 0)
        return;
    engine->hot_source = g_idle_add_full(G_PRIORITY_DEFAULT, hotplug_cb, engine, NULL);
}

static void link_appeared_cb(GdCache *cache, int ifindex, gpointer user_data)
{
    GdEngine *engine = user_data;
    if (engine->config->policies->len == 0)
        return;
    g_hash_table_add(engine->hot, GINT_TO_POINTER(ifindex));
    schedule_hotplug(engine);
}

/* ---- entry points ---- */

void gd_engine_start(GdEngine *engine, GdEngineDoneFunc done, gpointer user_data)
{
    reconcile(engine, TRIGGER_START, done, user_data);
}

static gboolean debounce_cb(gpointer user_data)
{
    GdEngine *engine = user_data;
    engine->debounce_timer = 0;
    reconcile(engine, TRIGGER_CHANGED, NULL, NULL);
    return G_SOURCE_REMOVE;
}

void gd_engine_links_changed(GdEngine *engine)
{
    if (engine->debounce_timer || engine->config->policies->len == 0)
        return;
    engine->debounce_timer =
        g_timeout_add(MAX(engine->config->daemon.drift_debounce_msec, 10u), debounce_cb, engine);
}

void gd_engine_reload(GdEngine *engine, gboolean dry_run, GdEngineDoneFunc done, gpointer user_data)
{
    g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func(g_free);
    GdConfig *config = NULL;
    if (gd_config_load(engine->root, engine->names, &config, errors) < 0) {
        g_ptr_array_add(errors, NULL);
        g_autofree char *text = g_strjoinv("\n", (char **)errors->pdata);
        g_warning("reload refused, the running configuration stays:\n%s", text);
        done(engine, NULL, text, user_data);
        return;
    }
    if (dry_run) {
        g_autoptr(GdConfig) owned = config;
        g_autoptr(GdPlan) plan = build_plan(engine, config, NULL);
        g_autofree char *json = plan_json(engine, plan);
        done(engine, json, NULL, user_data);
        return;
    }
    g_message("reload: %u group policies", config->policies->len);
    gd_config_free(engine->config);
    engine->config = config;
    g_hash_table_remove_all(engine->overrides);
    engine->reloads++;
    /* A new configuration gets a fresh chance; groups without a policy
     * any more are forgotten. */
    g_hash_table_remove_all(engine->groups);
    g_clear_handle_id(&engine->retry_timer, g_source_remove);
    notify(engine);
    reconcile(engine, TRIGGER_RELOAD, done, user_data);
}

gboolean gd_engine_set_override(GdEngine *engine, uint32_t id, const GdNlLinkChange *change,
                                GdEngineOverrideUndo *undo)
{
    if (!gd_config_policy_for_group(engine->config, id))
        return FALSE;
    GdNlLinkChange *current = g_hash_table_lookup(engine->overrides, GUINT_TO_POINTER(id));
    memset(undo, 0, sizeof(*undo));
    undo->had_previous = current != NULL;
    undo->generation = engine->reloads;
    if (current) {
        /* Merged in place: replacing a value with itself would free it. */
        undo->previous = *current;
    } else {
        current = g_new0(GdNlLinkChange, 1);
        g_hash_table_insert(engine->overrides, GUINT_TO_POINTER(id), current);
    }
    gd_link_change_merge(current, change);
    guint count = GPOINTER_TO_UINT(g_hash_table_lookup(engine->inflight, GUINT_TO_POINTER(id)));
    g_hash_table_insert(engine->inflight, GUINT_TO_POINTER(id), GUINT_TO_POINTER(count + 1));
    notify(engine);
    return TRUE;
}

void gd_engine_override_done(GdEngine *engine, uint32_t id, gboolean applied,
                             const GdEngineOverrideUndo *undo)
{
    gpointer key = GUINT_TO_POINTER(id);
    guint count = GPOINTER_TO_UINT(g_hash_table_lookup(engine->inflight, key));
    if (count > 1)
        g_hash_table_insert(engine->inflight, key, GUINT_TO_POINTER(count - 1));
    else
        g_hash_table_remove(engine->inflight, key);
    /* After a reload there is nothing to take back: it dropped them all. */
    if (!applied && undo->generation == engine->reloads) {
        if (undo->had_previous)
            g_hash_table_replace(engine->overrides, key,
                                 g_memdup2(&undo->previous, sizeof(undo->previous)));
        else
            g_hash_table_remove(engine->overrides, key);
        notify(engine);
    }
    /* What was left out meanwhile gets its turn. */
    gd_engine_links_changed(engine);
}

gboolean gd_engine_group_state(GdEngine *engine, uint32_t id, GdEngineGroupState *state)
{
    const GdGroupPolicy *policy = gd_config_policy_for_group(engine->config, id);
    memset(state, 0, sizeof(*state));
    state->last_error = "";
    if (!policy)
        return FALSE;
    state->has_policy = TRUE;
    state->file = policy->path;
    state->desired = policy->link;
    state->addresses = policy->addresses;
    state->yield_to_others = policy->yield_to_others;
    const GdNlLinkChange *override = g_hash_table_lookup(engine->overrides, GUINT_TO_POINTER(id));
    if (override) {
        gd_link_change_merge(&state->desired, override);
        state->overridden = TRUE;
    }
    GroupState *gs = g_hash_table_lookup(engine->groups, GUINT_TO_POINTER(id));
    if (gs) {
        state->drifted = gs->drifted;
        state->last_error = gs->last_error;
    }
    return TRUE;
}

void gd_engine_set_peers(GdEngine *engine, GdPeerLookupFunc lookup, gpointer data)
{
    engine->peer_lookup = lookup;
    engine->peer_data = data;
}

void gd_engine_peers_changed(GdEngine *engine)
{
    /* Conflicts and ManagedBy= matches follow, after the debounce. */
    gd_engine_links_changed(engine);
}

GPtrArray *gd_engine_group_conflicts(GdEngine *engine, uint32_t id)
{
    return gd_conflict_log_group(engine->conflict_log, id);
}

GArray *gd_engine_policy_groups(GdEngine *engine)
{
    GArray *ids = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    for (guint i = 0; i < engine->config->policies->len; i++) {
        const GdGroupPolicy *policy = engine->config->policies->pdata[i];
        g_array_append_val(ids, policy->id);
    }
    return ids;
}

const char *gd_engine_group_name(GdEngine *engine, uint32_t id)
{
    const GdGroupPolicy *policy = gd_config_policy_for_group(engine->config, id);
    return policy ? policy->name : NULL;
}

int gd_engine_resolve_name(GdEngine *engine, const char *name, uint32_t *id)
{
    for (guint i = 0; i < engine->config->policies->len; i++) {
        const GdGroupPolicy *policy = engine->config->policies->pdata[i];
        if (policy->name && g_str_equal(policy->name, name)) {
            *id = policy->id;
            return 0;
        }
    }
    return -ENOENT;
}
