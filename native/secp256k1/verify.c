/*
 * commons: BIP-340 Schnorr verification with the system's libsecp256k1 (Debian libsecp256k1-dev),
 * as a tiny N-API addon. One export:
 *
 *   verifyPacked(bytes: Uint8Array, offset: number, count: number, results: Uint8Array): void
 *
 * `bytes` holds `count` records of id (32) ‖ pubkey (32) ‖ sig (64) from `offset`; results[i] is set
 * to 1 when record i verifies, else 0. Batching keeps the JS→C crossing to one call per batch.
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <pthread.h>
#include <secp256k1.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>

#define RECORD 128

/* Verification only reads the context, so one context serves every worker thread. */
static secp256k1_context *ctx;
static pthread_once_t ctx_once = PTHREAD_ONCE_INIT;
static void create_context(void) { ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE); }

static int check_one(const unsigned char *record) {
  secp256k1_xonly_pubkey pubkey;
  if (!secp256k1_xonly_pubkey_parse(ctx, &pubkey, record + 32)) return 0;
  return secp256k1_schnorrsig_verify(ctx, record + 64, record, 32, &pubkey);
}

static napi_value verify_packed(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 4) {
    napi_throw_type_error(env, NULL, "verifyPacked(bytes, offset, count, results)");
    return NULL;
  }
  void *bytes, *results;
  size_t bytes_length, results_length;
  napi_typedarray_type type;
  napi_value ignored;
  size_t bytes_offset;
  int64_t offset, count;
  if (napi_get_typedarray_info(env, argv[0], &type, &bytes_length, &bytes, &ignored, &bytes_offset) != napi_ok ||
      type != napi_uint8_array ||
      napi_get_value_int64(env, argv[1], &offset) != napi_ok ||
      napi_get_value_int64(env, argv[2], &count) != napi_ok ||
      napi_get_typedarray_info(env, argv[3], &type, &results_length, &results, &ignored, &bytes_offset) != napi_ok ||
      type != napi_uint8_array) {
    napi_throw_type_error(env, NULL, "verifyPacked(bytes: Uint8Array, offset, count, results: Uint8Array)");
    return NULL;
  }
  if (offset < 0 || count < 0 || (size_t)count > results_length ||
      (size_t)offset + (size_t)count * RECORD > bytes_length) {
    napi_throw_range_error(env, NULL, "verifyPacked: records out of range");
    return NULL;
  }
  const unsigned char *in = (const unsigned char *)bytes + offset;
  unsigned char *out = (unsigned char *)results;
  for (int64_t i = 0; i < count; i++) out[i] = (unsigned char)check_one(in + i * RECORD);
  return NULL;
}

NAPI_MODULE_INIT() {
  pthread_once(&ctx_once, create_context);
  if (ctx == NULL) {
    napi_throw_error(env, NULL, "secp256k1_context_create failed");
    return NULL;
  }
  napi_value fn;
  if (napi_create_function(env, "verifyPacked", NAPI_AUTO_LENGTH, verify_packed, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "verifyPacked", fn) != napi_ok) return NULL;
  return exports;
}
