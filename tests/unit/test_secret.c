/* test_secret - the run's secrets are found and redacted in text (src/secret.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "llmload/config.h"
#include "llmload/secret.h"

static void make_config(config *c, const char *target, const char *key)
{
    memset(c, 0, sizeof *c);
    c->target = (char *)target;
    c->api_key = (char *)key;
}

static void test_redacts_key_and_url_credentials(void **state)
{
    (void)state;
    config c;
    secret_set *s = NULL;
    make_config(&c, "http://alice:pa%24%24word@h:1/v1", "sk-0123456789");
    assert_int_equal(secret_set_create(&s, &c), 0);
    char t[200];
    strcpy(t, "auth: Bearer sk-0123456789, basic YWxpY2U6cGEkJHdvcmQ= pw pa$$word");
    secret_redact(s, t, sizeof t);
    assert_string_equal(t, "auth: Bearer <redacted>, basic <redacted> pw <redacted>");
    /* A message cut inside the key: its first bytes go too. */
    strcpy(t, "echo: Bearer sk-01234");
    secret_redact(s, t, sizeof t);
    assert_string_equal(t, "echo: Bearer <redacted>");
    /* The marker may not fit: the result is cut to the buffer. */
    char small[10];
    strcpy(small, "x sk-0123");
    secret_redact(s, small, sizeof small);
    assert_string_equal(small, "x <redact");
    strcpy(t, "nothing secret here");
    secret_redact(s, t, sizeof t);
    assert_string_equal(t, "nothing secret here");
    secret_set_destroy(s);
}

static void test_basic_auth(void **state)
{
    (void)state;
    char *h = NULL;
    assert_int_equal(secret_basic_auth("http://alice:pa%24%24word@h:1", &h), 0);
    assert_string_equal(h, "Basic YWxpY2U6cGEkJHdvcmQ=");
    secret_free(h);
    assert_int_equal(secret_basic_auth("http://h:1/v1", &h), 0);
    assert_null(h);
    assert_int_equal(secret_basic_auth("http://bob@h:1", &h), 0);
    assert_string_equal(h, "Basic Ym9iOg=="); /* "bob:", as curl sends it */
    secret_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redacts_key_and_url_credentials),
        cmocka_unit_test(test_basic_auth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
