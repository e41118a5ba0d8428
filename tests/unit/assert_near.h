/*
 * assert_near.h - double comparisons for the cmocka unit tests (cmocka 1.1 compares only floats):
 * a failure prints both expressions, both values and the margin. Include after <cmocka.h>.
 */
#ifndef LLMLOAD_TEST_ASSERT_NEAR_H
#define LLMLOAD_TEST_ASSERT_NEAR_H

#include <math.h>

#define assert_near(a, b, eps) assert_near_((a), (b), (eps), #a, #b, __FILE__, __LINE__)
static inline void assert_near_(double a, double b, double eps, const char *ea, const char *eb, const char *file,
                                int line)
{
    if (fabs(a - b) <= eps)
        return;
    print_error("%s = %.17g, %s = %.17g, |diff| %.3g > %.3g\n", ea, a, eb, b, fabs(a - b), eps);
    _fail(file, line);
}

/* |got - want| <= rel * |want| */
#define assert_rel(got, want, rel) assert_near((got), (want), (rel) * fabs((double)(want)))

#endif
