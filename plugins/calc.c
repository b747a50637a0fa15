/* SPDX-License-Identifier: MIT */
/*
 * calc.c - arithmetic, as in the JSON-RPC 2.0 specification's examples.
 *
 *   add(a, b)                    a + b
 *   subtract(minuend, subtrahend) by position or by name
 *   sum(n...)                    the sum of any count of numbers
 *   divide(dividend, divisor)    error 1 "Division by zero" when divisor is 0
 *
 * Params are described (api->describe_method: sum's n is variadic, by
 * position), so the host checks them (and answers -32602 naming the
 * offending param) before a handler runs, and rpc.discover lists them
 * with divide's error 1.
 */
#include <math.h>

#include <rpchost/plugin.h>

#define CALC_DIVISION_BY_ZERO 1

static const rpchost_api *api;

static int
answer_number(rpchost_call *call, double v)
{
    if (!isfinite(v))
        return api->invalid_params(call, "result is not a finite number");
    return api->result(call, cJSON_CreateNumber(v));
}

/* Two described numbers, by position or by name. */
static int
two(rpchost_call *call, const char *n0, const char *n1, double *a, double *b)
{
    int rc = api->param_double(call, 0, n0, a);

    if (rc == RPCHOST_OK)
        rc = api->param_double(call, 1, n1, b);
    return rc;
}

static int
add(rpchost_call *call, const cJSON *params, void *state)
{
    double a, b;
    int rc = two(call, "a", "b", &a, &b);

    (void)params;
    (void)state;
    return rc ? rc : answer_number(call, a + b);
}

static int
subtract(rpchost_call *call, const cJSON *params, void *state)
{
    double a, b;
    int rc = two(call, "minuend", "subtrahend", &a, &b);

    (void)params;
    (void)state;
    return rc ? rc : answer_number(call, a - b);
}

static int
divide(rpchost_call *call, const cJSON *params, void *state)
{
    double a, b;
    int rc = two(call, "dividend", "divisor", &a, &b);

    (void)params;
    (void)state;
    if (rc != RPCHOST_OK)
        return rc;
    if (b == 0)
        return api->error(call, CALC_DIVISION_BY_ZERO, "Division by zero",
                          NULL);
    return answer_number(call, a / b);
}

/* The numbers are read straight off the list (cJSON_ArrayForEach: one
 * step each); only a bad one goes through api->param_double, so that the
 * host's -32602 names its position as for every other method. */
static int
sum(rpchost_call *call, const cJSON *params, void *state)
{
    const cJSON *item;
    double total = 0;
    size_t i = 0;

    (void)state;
    if (params != NULL && !cJSON_IsArray(params))
        return api->invalid_params(call, "sum takes its numbers by position");
    cJSON_ArrayForEach (item, params) {
        if (!cJSON_IsNumber(item) || !isfinite(item->valuedouble)) {
            double v;
            int rc = api->param_double(call, i, NULL, &v);
            return rc != RPCHOST_OK ? rc : RPCHOST_EFAIL;
        }
        total += item->valuedouble;
        i++;
    }
    return answer_number(call, total);
}

/* Params, results and errors for describe_method (ABI 2): titles are the
 * host's ("addParamA", "sumResult"), so generated clients get readable
 * type names. */
static const rpchost_param_doc add_params[] = {
    {"a", RPCHOST_TYPE_NUMBER, 1, "first addend", 0, 0, NULL},
    {"b", RPCHOST_TYPE_NUMBER, 1, "second addend", 0, 0, NULL},
    {NULL, 0, 0, NULL, 0, 0, NULL},
};
static const rpchost_param_doc subtract_params[] = {
    {"minuend", RPCHOST_TYPE_NUMBER, 1, "the number subtracted from", 0, 0,
     NULL},
    {"subtrahend", RPCHOST_TYPE_NUMBER, 1, "the number subtracted", 0, 0, NULL},
    {NULL, 0, 0, NULL, 0, 0, NULL},
};
static const rpchost_param_doc divide_params[] = {
    {"dividend", RPCHOST_TYPE_NUMBER, 1, "the number divided", 0, 0, NULL},
    {"divisor", RPCHOST_TYPE_NUMBER, 1, "the number it is divided by; not 0", 0,
     0, NULL},
    {NULL, 0, 0, NULL, 0, 0, NULL},
};
static const rpchost_param_doc sum_params[] = {
    {"n", RPCHOST_TYPE_NUMBER, 0, "a number to add (any count of them)", 0,
     RPCHOST_PARAM_VARIADIC, NULL},
    {NULL, 0, 0, NULL, 0, 0, NULL},
};
static const rpchost_param_doc number_result[] = {
    {"result", RPCHOST_TYPE_NUMBER, 1, NULL, 0, 0, NULL},
    {NULL, 0, 0, NULL, 0, 0, NULL},
};
static const rpchost_error_doc divide_errors[] = {
    {CALC_DIVISION_BY_ZERO, "Division by zero", "when divisor is 0"},
    {0, NULL, NULL},
};

static const struct {
    rpchost_method method;
    rpchost_method_doc doc;
} methods[] = {
    {{"add", add, NULL, 0, "Adds two numbers.", NULL, NULL},
     {NULL, RPCHOST_PARAMS_EITHER, add_params, number_result, NULL}},
    {{"subtract", subtract, NULL, 0, "Subtracts subtrahend from minuend.", NULL,
      NULL},
     {NULL, RPCHOST_PARAMS_EITHER, subtract_params, number_result, NULL}},
    {{"divide", divide, NULL, 0, "Divides; error 1 on division by zero.", NULL,
      NULL},
     {NULL, RPCHOST_PARAMS_EITHER, divide_params, number_result,
      divide_errors}},
    {{"sum", sum, NULL, 0, "Sums any count of numbers given by position.", NULL,
      NULL},
     {NULL, RPCHOST_PARAMS_BY_POSITION, sum_params, number_result, NULL}},
};

static int
calc_init(rpchost_plugin *plugin, const rpchost_api *host, void **state)
{
    (void)state;
    api = host;
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        const char *name = methods[i].method.name;
        int rc = api->register_method(plugin, &methods[i].method);
        if (rc == RPCHOST_OK)
            rc = api->describe_method(plugin, name, &methods[i].doc);
        if (rc != RPCHOST_OK)
            return rc;
    }
    return RPCHOST_OK;
}

RPCHOST_PLUGIN_DEFINE("calc", "1.0.0", calc_init, NULL);
