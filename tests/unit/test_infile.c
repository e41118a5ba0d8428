/* test_infile - a whole file read with a cap: contents exact (past the first buffer's size), a
 * missing file, a file past the cap, an empty file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "llmload/error.h"
#include "llmload/infile.h"

static void write_file(const char *path, const char *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static void test_read(void **state)
{
    (void)state;
    char path[] = "/tmp/llmload-test-infile-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    size_t n = 300000; /* more than the first buffer (128 KiB) and than one doubling */
    char *data = malloc(n);
    assert_non_null(data);
    for (size_t i = 0; i < n; i++)
        data[i] = (char)('a' + i % 26);
    write_file(path, data, n);
    char *got = NULL, err[256] = "";
    size_t len = 0;
    assert_int_equal(infile_read(path, INFILE_MAX, &got, &len, err, sizeof err), 0);
    assert_int_equal(len, n);
    assert_memory_equal(got, data, n);
    assert_int_equal(got[n], '\0');
    free(got);

    assert_int_equal(infile_read(path, 200000, &got, &len, err, sizeof err), LL_EOVERSIZE);
    assert_null(got);
    assert_non_null(strstr(err, path));

    write_file(path, "", 0);
    assert_int_equal(infile_read(path, INFILE_MAX, &got, &len, err, sizeof err), 0);
    assert_int_equal(len, 0);
    assert_string_equal(got, "");
    free(got);

    unlink(path);
    assert_int_equal(infile_read(path, INFILE_MAX, &got, &len, err, sizeof err), LL_ENOENT);
    assert_null(got);
    assert_non_null(strstr(err, "cannot open"));
    free(data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
