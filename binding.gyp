{
  "targets": [
    {
      "target_name": "berth_native",
      "conditions": [
        ["OS=='linux'", {
          "sources": [
            "native/src/addon.cc",
            "native/src/crc32c.cc",
            "native/src/crc32c-clmul.cc",
            "native/src/errors.cc",
            "native/src/files.cc",
            "native/src/probe.cc",
            "native/src/ring.cc",
            "native/src/send.cc",
            "native/src/send-thread.cc",
            "native/src/uring.cc",
            "native/src/write-ring.cc"
          ],
          "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
          "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
          "cflags!": ["-fno-exceptions"],
          "cflags_cc!": ["-fno-exceptions"],
          "cflags": ["-fvisibility=hidden"],
          "cflags_cc": ["-std=c++17", "-O2", "-fvisibility=hidden", "-Wall", "-Wextra", "-Wno-unused-parameter"]
        }, {
          "type": "none"
        }]
      ]
    }
  ]
}
