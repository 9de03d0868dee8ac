{
  "targets": [
    {
      "target_name": "bloom",
      "sources": ["bloom.c"],
      "cflags": ["-O3", "-std=c11"],
      "defines": ["NAPI_VERSION=8"]
    },
    {
      "target_name": "memory",
      "sources": ["memory.c"],
      "cflags": ["-O2", "-std=gnu11"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
