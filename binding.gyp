{
  "targets": [
    {
      "target_name": "tsgi_spawn",
      "conditions": [
        ["OS=='linux'", { "sources": ["native/spawn.c"], "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"] }]
      ]
    }
  ]
}
