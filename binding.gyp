{
  "targets": [
    {
      "target_name": "tsgi_launcher",
      "conditions": [
        ["OS=='linux'", { "sources": ["native/child.c", "native/cgroup.c", "native/descendants.c", "native/starter.c", "native/values.c", "native/env-block.c", "native/table.c", "native/events.c", "native/launcher.c", "native/listen.c"], "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"] }]
      ]
    }
  ]
}
