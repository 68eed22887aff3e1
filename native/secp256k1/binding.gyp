{
  "targets": [
    {
      "target_name": "commons_secp256k1",
      "sources": ["verify.c"],
      "libraries": ["-lsecp256k1"],
      "cflags": ["-O2", "-Wall"]
    }
  ]
}
