{
  "targets": [
    {
      "target_name": "bloom",
      "sources": ["bloom.c"],
      "cflags": ["-O3", "-std=c11"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
