/*
 * The segment bloom builder of src/segment/bloom.ts (buildTrigramBloom), in C: the same bytes
 * for the same text, built several times faster. (Also, at the end, the restorer of repacked
 * segments' variable columns, src/segment/variable-columns.ts: same addon, same fallback.) bloom.ts loads this addon when it was built
 * (npm install runs scripts/build-native.mjs) and otherwise builds in JavaScript; a property
 * test compares the two byte for byte.
 *
 * What it builds (see bloom.ts for why): every trigram of the text, lowercased (ASCII letters)
 * and exactly where that differs, 3 probes each; every whole token of at least 8 bytes
 * (A-Za-z0-9_.:@-) by its FNV-1a hash, 3 probes (format 3) or 8 (format 4); the bloom sized
 * to the next power of two of at least 8 bits an entry (tokens counted with their repeats),
 * its format in one byte after the bits. Format 5: two arrays, the trigrams' (10 bits a
 * distinct one) and the distinct tokens' (16 bits each, those beginning with a date or a time
 * of day left out), each a multiple of 16 bytes, probes taken modulo the array; then the
 * trigram array's bytes (4, little-endian) and the format byte.
 */
#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define PROBES 3
#define TOKEN_PROBES 8
#define BITS_PER_TRIGRAM 8
#define EXACT_FORMAT 2
#define TOKEN_FORMAT 3
#define NAMES_FORMAT 4
#define SPLIT_FORMAT 5
#define TRIGRAM_BITS 10
#define TOKEN_BITS 16
#define SPLIT_ALIGN 16
#define TOKEN_MIN 8
#define TOKEN_CLASS 0x100

typedef struct {
  uint8_t *seen; /* one bit per possible trigram, all clear between builds */
  uint32_t *found;
  size_t found_cap;
  uint32_t *tokens;
  size_t tokens_cap;
  int32_t classes[256];
} builder_t;

static uint32_t mix(uint32_t x) {
  x ^= x >> 16;
  x *= 0x85ebca6bu;
  x ^= x >> 13;
  x *= 0xc2b2ae35u;
  return x ^ (x >> 16);
}

static int is_token_byte(int b) {
  return (b >= 48 && b <= 58) || (b >= 64 && b <= 90) || (b >= 97 && b <= 122) || b == 95 || b == 45 || b == 46;
}

static int grow(uint32_t **array, size_t *cap, size_t need) {
  if (need <= *cap) return 1;
  size_t next = *cap == 0 ? 4096 : *cap;
  while (next < need) next *= 2;
  uint32_t *grown = realloc(*array, next * sizeof(uint32_t));
  if (grown == NULL) return 0;
  *array = grown;
  *cap = next;
  return 1;
}

static void set_probes(uint8_t *bloom, uint32_t bit_mask, uint32_t value, int probes) {
  uint32_t h1 = mix(value);
  uint32_t h2 = mix(value ^ 0x9e3779b9u) | 1u;
  for (int p = 0; p < probes; p++) {
    uint32_t bit = (h1 + (uint32_t)p * h2) & bit_mask;
    bloom[bit >> 3] |= (uint8_t)(1u << (bit & 7));
  }
}


/* Format 5: `probes` bits of `value` in the array of `size` bits at bit `base`, each taken modulo the array. */
static void set_split_probes(uint8_t *bloom, uint64_t base, uint32_t size, uint32_t value, int probes) {
  uint32_t h1 = mix(value);
  uint32_t h2 = mix(value ^ 0x9e3779b9u) | 1u;
  for (int p = 0; p < probes; p++) {
    uint64_t bit = base + ((h1 + (uint32_t)p * h2) & 0x7fffffffu) % size;
    bloom[bit >> 3] |= (uint8_t)(1u << (bit & 7));
  }
}

static int is_digit(uint8_t b) {
  return b >= '0' && b <= '9';
}

/* Whether a token begins with a date (dddd-dd-dd) or a time of day (dd:dd:dd): format 5 leaves it out. */
static int is_time_token(const uint8_t *t, size_t length) {
  if (length < 8) return 0;
  if (is_digit(t[0]) && is_digit(t[1]) && t[2] == ':' && is_digit(t[3]) && is_digit(t[4]) && t[5] == ':' && is_digit(t[6]) && is_digit(t[7])) return 1;
  return length >= 10 && is_digit(t[0]) && is_digit(t[1]) && is_digit(t[2]) && is_digit(t[3]) && t[4] == '-' && is_digit(t[5]) && is_digit(t[6]) &&
         t[7] == '-' && is_digit(t[8]) && is_digit(t[9]);
}

/* Moves the distinct hashes among the first `count` tokens to the front; answers how many, or -1 without memory. */
static long distinct_tokens(uint32_t *tokens, size_t count) {
  size_t size = 16;
  while (size < count * 2) size *= 2;
  uint32_t *slots = malloc(size * sizeof(uint32_t));
  uint8_t *used = calloc(size, 1);
  if (slots == NULL || used == NULL) {
    free(slots);
    free(used);
    return -1;
  }
  size_t mask = size - 1, kept = 0;
  for (size_t i = 0; i < count; i++) {
    uint32_t hash = tokens[i];
    size_t slot = mix(hash) & mask;
    for (;;) {
      if (!used[slot]) {
        used[slot] = 1;
        slots[slot] = hash;
        tokens[kept++] = hash;
        break;
      }
      if (slots[slot] == hash) break;
      slot = (slot + 1) & mask;
    }
  }
  free(slots);
  free(used);
  return (long)kept;
}

static size_t split_array_bytes(size_t count, size_t bits_each) {
  size_t bytes = (count * bits_each + 7) / 8;
  return (bytes + SPLIT_ALIGN - 1) / SPLIT_ALIGN * SPLIT_ALIGN;
}

/* Empties the seen bitmap: every bit set was a trigram found. */
static void clear(builder_t *b, size_t count) {
  for (size_t i = 0; i < count; i++) b->seen[b->found[i] >> 3] = 0;
}

static void finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  builder_t *b = data;
  free(b->seen);
  free(b->found);
  free(b->tokens);
  free(b);
}

/* build(text: Uint8Array, format: 2 | 3 | 4 | 5): Buffer */
static napi_value build(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t format = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 || napi_get_value_int32(env, argv[1], &format) != napi_ok ||
      format < EXACT_FORMAT || format > SPLIT_FORMAT) {
    napi_throw_type_error(env, NULL, "build(text, format: 2 to 5)");
    return NULL;
  }
  napi_typedarray_type type;
  size_t length;
  void *data;
  /* `data` already points at the view's first byte (a Buffer from Node's pool is a view at an offset). */
  if (napi_get_typedarray_info(env, argv[0], &type, &length, &data, NULL, NULL) != napi_ok || type != napi_uint8_array) {
    napi_throw_type_error(env, NULL, "text must be a Uint8Array");
    return NULL;
  }
  builder_t *b;
  if (napi_get_instance_data(env, (void **)&b) != napi_ok || b == NULL) {
    napi_throw_error(env, NULL, "bloom builder not initialised");
    return NULL;
  }
  const uint8_t *text = data;
  const int with_tokens = format >= TOKEN_FORMAT;
  const int split = format == SPLIT_FORMAT;
  uint8_t *seen = b->seen;
  size_t count = 0, token_count = 0;
  const int32_t *classes = b->classes;
  if (length >= 3) {
    long start = -1;
    uint32_t hash = 0;
    for (size_t i = 0; i < 2; i++) {
      uint8_t byte = text[i];
      if (classes[byte] >= TOKEN_CLASS) {
        if (start < 0) {
          start = (long)i;
          hash = 0x811c9dc5u;
        }
        hash = (hash ^ byte) * 0x01000193u;
      } else {
        start = -1;
      }
    }
    uint32_t lowered = ((uint32_t)(classes[text[0]] & 0xff) << 8) | (uint32_t)(classes[text[1]] & 0xff);
    uint32_t exact = ((uint32_t)text[0] << 8) | text[1];
    /*
     * Room for the distinct trigrams, grown as they are found: a text has at most two a byte,
     * and never more than 2^24 (every trigram value), so a large text of few distinct ones
     * does not reserve eight bytes for each of its own.
     */
    if (!grow(&b->found, &b->found_cap, 65536)) goto oom;
    uint32_t *found = b->found;
    size_t found_cap = b->found_cap;
    for (size_t i = 2; i < length; i++) {
      uint8_t byte = text[i];
      int32_t byte_class = classes[byte];
      if (byte_class >= TOKEN_CLASS) {
        if (start < 0) {
          start = (long)i;
          hash = 0x811c9dc5u;
        }
        hash = (hash ^ byte) * 0x01000193u;
      } else if (start >= 0) {
        if ((long)i - start >= TOKEN_MIN && with_tokens && !(split && is_time_token(text + start, (size_t)((long)i - start)))) {
          if (!grow(&b->tokens, &b->tokens_cap, token_count + 1)) goto oom;
          b->tokens[token_count++] = hash ^ 0x5bd1e995u;
        }
        start = -1;
      }
      exact = ((exact << 8) | byte) & 0xffffff;
      lowered = ((lowered << 8) | (uint32_t)(byte_class & 0xff)) & 0xffffff;
      if (count + 2 > found_cap) {
        if (!grow(&b->found, &b->found_cap, count + 2)) goto oom;
        found = b->found;
        found_cap = b->found_cap;
      }
      uint8_t bit = (uint8_t)(1u << (lowered & 7));
      if ((seen[lowered >> 3] & bit) == 0) {
        seen[lowered >> 3] |= bit;
        found[count++] = lowered;
      }
      if (exact != lowered) {
        bit = (uint8_t)(1u << (exact & 7));
        if ((seen[exact >> 3] & bit) == 0) {
          seen[exact >> 3] |= bit;
          found[count++] = exact;
        }
      }
    }
    if (start >= 0 && (long)length - start >= TOKEN_MIN && with_tokens && !(split && is_time_token(text + start, (size_t)((long)length - start)))) {
      if (!grow(&b->tokens, &b->tokens_cap, token_count + 1)) goto oom;
      b->tokens[token_count++] = hash ^ 0x5bd1e995u;
    }
  }
  napi_value result;
  void *out;
  if (split) {
    long tokens = token_count > 0 ? distinct_tokens(b->tokens, token_count) : 0;
    if (tokens < 0) goto oom;
    size_t trigram_bytes = split_array_bytes(count, TRIGRAM_BITS);
    if (trigram_bytes < SPLIT_ALIGN) trigram_bytes = SPLIT_ALIGN;
    size_t token_bytes = split_array_bytes((size_t)tokens, TOKEN_BITS);
    size_t total = trigram_bytes + token_bytes + 5;
    if (napi_create_buffer(env, total, &out, &result) != napi_ok) {
      clear(b, count);
      return NULL;
    }
    uint8_t *bloom = out;
    memset(bloom, 0, total);
    bloom[trigram_bytes + token_bytes] = (uint8_t)(trigram_bytes & 0xff);
    bloom[trigram_bytes + token_bytes + 1] = (uint8_t)((trigram_bytes >> 8) & 0xff);
    bloom[trigram_bytes + token_bytes + 2] = (uint8_t)((trigram_bytes >> 16) & 0xff);
    bloom[trigram_bytes + token_bytes + 3] = (uint8_t)((trigram_bytes >> 24) & 0xff);
    bloom[total - 1] = SPLIT_FORMAT;
    for (long i = 0; i < tokens; i++) set_split_probes(bloom, (uint64_t)trigram_bytes * 8, (uint32_t)(token_bytes * 8), b->tokens[i], TOKEN_PROBES);
    for (size_t i = 0; i < count; i++) set_split_probes(bloom, 0, (uint32_t)(trigram_bytes * 8), b->found[i], PROBES);
    clear(b, count);
    return result;
  }
  uint64_t bytes = 8;
  while (bytes * 8 < (uint64_t)(count + token_count) * BITS_PER_TRIGRAM) bytes *= 2;
  if (napi_create_buffer(env, (size_t)bytes + 1, &out, &result) != napi_ok) {
    clear(b, count);
    return NULL;
  }
  uint8_t *bloom = out;
  memset(bloom, 0, (size_t)bytes + 1);
  bloom[bytes] = (uint8_t)format;
  const uint32_t bit_mask = (uint32_t)(bytes * 8 - 1);
  const int token_probes = format >= NAMES_FORMAT ? TOKEN_PROBES : PROBES;
  /* Every token sets its bits: a repeated one sets the same bits again. */
  for (size_t i = 0; i < token_count; i++) set_probes(bloom, bit_mask, b->tokens[i], token_probes);
  for (size_t i = 0; i < count; i++) set_probes(bloom, bit_mask, b->found[i], PROBES);
  clear(b, count);
  return result;
oom:
  clear(b, count);
  napi_throw_error(env, "ENOMEM", "out of memory building a bloom");
  return NULL;
}

/*
 * restore(arranged, lengths, out): src/segment/variable-columns.ts restoreVariables in C (the
 * same bytes; a test compares the two). `lengths` is an Int32Array of the prefix's bytes, the
 * templates' and the 12 columns'. Answers the bytes written, or -1 when `arranged` is no
 * arrangement of `out`'s length (a marker past its column's end, or the lengths disagree).
 */
#define VARIABLE_COLUMNS 12
#define FIRST_MARK 0x0e
#define ESCAPE 0x1a

static int uint8_arg(napi_env env, napi_value value, uint8_t **data, size_t *length) {
  napi_typedarray_type type;
  void *bytes;
  if (napi_get_typedarray_info(env, value, &type, length, &bytes, NULL, NULL) != napi_ok || type != napi_uint8_array) return 0;
  *data = bytes;
  return 1;
}

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* Words are read and written eight bytes at a time where a byte's place in a word is its place in memory from the low end. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define WORDWISE 1
#else
#define WORDWISE 0
#endif

/* High bit set in exactly the bytes of x in [FIRST_MARK, ESCAPE]: no sum carries out of its byte. */
static inline uint64_t special_bytes(uint64_t x) {
  uint64_t low = x & (ONES * 0x7f);
  uint64_t at_least_first = low + ONES * (0x80 - FIRST_MARK); /* high bit: byte & 0x7f >= 0x0e */
  uint64_t past_escape = low + ONES * (0x7f - ESCAPE);        /* high bit: byte & 0x7f > 0x1a */
  return at_least_first & ~past_escape & ~x & HIGHS;
}

/* High bit set in the lowest byte of x that is a comma (higher bits may be set wrongly past it: only the lowest is used). */
static inline uint64_t comma_bytes(uint64_t x) {
  uint64_t y = x ^ (ONES * ',');
  return (y - ONES) & ~y & HIGHS;
}

static long long restore_bytes(const uint8_t *in, size_t in_length, const int32_t *lengths, uint8_t *out, size_t out_length) {
  size_t prefix = (size_t)lengths[0], templates = (size_t)lengths[1];
  size_t starts[VARIABLE_COLUMNS], ends[VARIABLE_COLUMNS];
  size_t total = prefix + templates;
  for (int c = 0; c < VARIABLE_COLUMNS; c++) {
    if (lengths[2 + c] < 0) return -1;
    starts[c] = total;
    total += (size_t)lengths[2 + c];
    ends[c] = total;
  }
  if (lengths[0] < 0 || lengths[1] < 0 || total != in_length || prefix > out_length) return -1;
  memcpy(out, in, prefix);
  size_t o = prefix;
  const size_t template_end = prefix + templates;
  size_t t = prefix;
  while (t < template_end) {
    /* Eight template bytes at a time while none is special and eight fit on both sides. */
    if (WORDWISE && t + 8 <= template_end && o + 8 <= out_length) {
      uint64_t word;
      memcpy(&word, in + t, 8);
      uint64_t special = special_bytes(word);
      memcpy(out + o, &word, 8);
      if (special == 0) {
        t += 8;
        o += 8;
        continue;
      }
      size_t plain = (size_t)(__builtin_ctzll(special) >> 3);
      t += plain;
      o += plain;
    }
    uint8_t b = in[t];
    if (b < FIRST_MARK || b > ESCAPE) {
      if (o >= out_length) return -1;
      out[o++] = b;
      t++;
    } else if (b == ESCAPE) {
      if (t + 1 >= template_end || o >= out_length) return -1;
      out[o++] = in[t + 1];
      t += 2;
    } else {
      int c = b - FIRST_MARK;
      size_t from = starts[c];
      const size_t stop = ends[c];
      /* The value up to its comma, eight bytes at a time while eight fit on both sides. */
      for (;;) {
        if (WORDWISE && from + 8 <= stop && o + 8 <= out_length) {
          uint64_t word;
          memcpy(&word, in + from, 8);
          uint64_t commas = comma_bytes(word);
          memcpy(out + o, &word, 8);
          if (commas == 0) {
            from += 8;
            o += 8;
            continue;
          }
          size_t n = (size_t)(__builtin_ctzll(commas) >> 3);
          from += n + 1;
          o += n;
          break;
        }
        if (from >= stop) return -1;
        uint8_t v = in[from++];
        if (v == ',') break;
        if (o >= out_length) return -1;
        out[o++] = v;
      }
      starts[c] = from;
      t++;
    }
  }
  return (long long)o;
}

static napi_value restore(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  uint8_t *in, *out;
  size_t in_length, out_length, count;
  napi_typedarray_type type;
  void *lengths;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3 || !uint8_arg(env, argv[0], &in, &in_length) ||
      napi_get_typedarray_info(env, argv[1], &type, &count, &lengths, NULL, NULL) != napi_ok || type != napi_int32_array ||
      count != 2 + VARIABLE_COLUMNS || !uint8_arg(env, argv[2], &out, &out_length)) {
    napi_throw_type_error(env, NULL, "restore(arranged: Uint8Array, lengths: Int32Array(14), out: Uint8Array)");
    return NULL;
  }
  napi_value result;
  napi_create_double(env, (double)restore_bytes(in, in_length, lengths, out, out_length), &result);
  return result;
}

NAPI_MODULE_INIT() {
  builder_t *b = calloc(1, sizeof(builder_t));
  if (b == NULL) return NULL;
  b->seen = calloc(1, 1 << 21);
  if (b->seen == NULL) {
    free(b);
    return NULL;
  }
  for (int i = 0; i < 256; i++) {
    int lower = i >= 65 && i <= 90 ? (i | 32) : i;
    b->classes[i] = lower | (is_token_byte(i) ? TOKEN_CLASS : 0);
  }
  napi_set_instance_data(env, b, finalize, NULL);
  napi_value fn;
  napi_create_function(env, "build", NAPI_AUTO_LENGTH, build, NULL, &fn);
  napi_set_named_property(env, exports, "build", fn);
  napi_create_function(env, "restore", NAPI_AUTO_LENGTH, restore, NULL, &fn);
  napi_set_named_property(env, exports, "restore", fn);
  return exports;
}
