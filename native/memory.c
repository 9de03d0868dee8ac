/*
 * glibc's malloc settings for Daniel (src/common/malloc-settings.ts): keep the memory freed
 * by one ingest request for the next instead of handing it back to the kernel.
 *
 * At full ingest each request allocates a few buffers of about a MiB (the decompressed body,
 * the text handed to the encode worker, Zstandard's work space, a decoded segment) and frees
 * them a few milliseconds later. glibc serves such sizes from the heap only after it has freed
 * one mapped chunk of that size, and trims the heap's top whenever twice that is free there,
 * so the same pages were unmapped and faulted in again: 104-136 thousand page faults on the
 * main thread for the bench's 10M lines, about half of them of pages freed before.
 */
#include <node_api.h>
#include <stdbool.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

/* keepFreed(mmapThreshold: number, trimThreshold: number): boolean (false where not glibc) */
static napi_value keep_freed(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_value result;
  int64_t mmap_threshold = 0, trim_threshold = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 ||
      napi_get_value_int64(env, argv[0], &mmap_threshold) != napi_ok ||
      napi_get_value_int64(env, argv[1], &trim_threshold) != napi_ok || mmap_threshold <= 0 || trim_threshold <= 0 ||
      mmap_threshold > 0x7fffffff || trim_threshold > 0x7fffffff) {
    napi_throw_type_error(env, NULL, "keepFreed(mmapThreshold, trimThreshold): two positive byte counts under 2 GiB");
    return NULL;
  }
  bool applied = false;
#if defined(__GLIBC__)
  /* mallopt answers 1 on success; a threshold over glibc's maximum is refused (0). */
  applied = mallopt(M_MMAP_THRESHOLD, (int)mmap_threshold) == 1 && mallopt(M_TRIM_THRESHOLD, (int)trim_threshold) == 1;
#endif
  napi_get_boolean(env, applied, &result);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "keepFreed", NAPI_AUTO_LENGTH, keep_freed, NULL, &fn);
  napi_set_named_property(env, exports, "keepFreed", fn);
  return exports;
}
