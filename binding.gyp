# Native core of wavenet. Source lists and compiler flags come from scripts/gyp.mjs, so that adding a file
# needs no edit here and the standalone native test (native/test/build.sh) compiles with the same flags.
#  - wn_core: the library (native/core, native/cpu, the generic variant of native/cpu/simd, CUDA or its
#    absence), a static library compiled once and linked by both addons;
#  - wavenet (build/Release/wavenet.node): the production addon, native/src (the N-API layer) over wn_core;
#  - wavenet_test (build/Release/wavenet_test.node): entry points for tests only (native/test/napi_test.cc:
#    the GEMM against a naive loop, for test/gemm.test.ts), kept out of the production addon.
#  - wn_simd_avx2 / wn_simd_avx512 (x86-64 only): the files in native/cpu/simd compiled once more per
#    instruction set; the library picks one at run time (native/cpu/cpu_features.cc, rules in
#    native/cpu/dispatch.h), so the addon runs on any x86-64 CPU. Other architectures get the generic
#    variant only (compiled into wn_core, as on x86-64).
#  - wn_cuda: native/cuda/*.cu compiled by nvcc into a static library when nvcc is found (with_cuda);
#    otherwise native/cuda/absent.cc answers every CUDA call with the reason.
#  - xcode_settings carry the same flags as cflags (optimisation, -ffp-contract, visibility, ISA flags per
#    variant), so a macOS build gets what a Linux build gets.
{
  "variables": {
    "with_cuda%": "<!(node scripts/gyp.mjs with-cuda)",
    "nvcc%": "<!(node scripts/gyp.mjs nvcc)",
    "cuda_home%": "<!(node scripts/gyp.mjs cuda-home)",
    "cuda_lib%": "<!(node scripts/gyp.mjs cuda-lib)"
  },
  "target_defaults": {
    "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
    "cflags": ["<!@(node scripts/gyp.mjs cflags)"],
    "cflags_cc": ["-std=c++17", "-fexceptions"],
    "include_dirs": ["native/include", "native"],
    "xcode_settings": {
      "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
      "GCC_ENABLE_CPP_RTTI": "YES",
      "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
      "CLANG_CXX_LIBRARY": "libc++",
      "GCC_OPTIMIZATION_LEVEL": "3",
      "GCC_SYMBOLS_PRIVATE_EXTERN": "YES",
      "OTHER_CFLAGS": ["<!@(node scripts/gyp.mjs cflags)"],
      "OTHER_CPLUSPLUSFLAGS": ["<!@(node scripts/gyp.mjs cflags)"]
    }
  },
  "targets": [
    {
      "target_name": "wn_core",
      "type": "static_library",
      "sources": [
        "<!@(node scripts/gyp.mjs list native/core .cc)",
        "<!@(node scripts/gyp.mjs list native/cpu .cc)",
        "<!@(node scripts/gyp.mjs list native/cpu/simd .cc)"
      ],
      "cflags": ["-fPIC"],
      "defines": ["WN_ISA=generic"],
      "link_settings": { "libraries": ["-lpthread"] },
      "conditions": [
        ["target_arch=='x64'", {
          "dependencies": ["wn_simd_avx2", "wn_simd_avx512"],
          "defines": ["WN_HAVE_X86_VARIANTS=1"]
        }],
        ["with_cuda=='true'", {
          "dependencies": ["wn_cuda"],
          "defines": ["WN_WITH_CUDA=1"],
          "link_settings": { "libraries": ["<(cuda_lib)/libcudart_static.a", "-ldl", "-lrt", "-lpthread"] }
        }, {
          "sources": ["native/cuda/absent.cc"]
        }]
      ]
    },
    {
      "target_name": "wavenet",
      "sources": ["<!@(node scripts/gyp.mjs list native/src .cc)"],
      "dependencies": ["wn_core"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"]
    },
    {
      "target_name": "wavenet_test",
      "sources": ["native/test/napi_test.cc"],
      "dependencies": ["wn_core"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"]
    }
  ],
  "conditions": [
    ["target_arch=='x64'", {
      "targets": [
        {
          "target_name": "wn_simd_avx2",
          "type": "static_library",
          "sources": ["<!@(node scripts/gyp.mjs list native/cpu/simd .cc)"],
          "defines": ["WN_ISA=avx2"],
          "cflags": ["<!@(node scripts/gyp.mjs isa-flags avx2)", "-fPIC"],
          "xcode_settings": { "OTHER_CPLUSPLUSFLAGS": ["<!@(node scripts/gyp.mjs isa-flags avx2)"] }
        },
        {
          "target_name": "wn_simd_avx512",
          "type": "static_library",
          "sources": ["<!@(node scripts/gyp.mjs list native/cpu/simd .cc)"],
          "defines": ["WN_ISA=avx512"],
          "cflags": ["<!@(node scripts/gyp.mjs isa-flags avx512)", "-fPIC"],
          "xcode_settings": { "OTHER_CPLUSPLUSFLAGS": ["<!@(node scripts/gyp.mjs isa-flags avx512)"] }
        }
      ]
    }],
    ["with_cuda=='true'", {
      "targets": [
        {
          "target_name": "wn_cuda",
          "type": "static_library",
          "sources": ["<!@(node scripts/gyp.mjs list native/cuda .cu)"],
          "include_dirs": ["<(cuda_home)/include"],
          "rules": [
            {
              "rule_name": "nvcc",
              "extension": "cu",
              # every header a .cu may include (nvcc's own dependency files cannot feed a gyp rule): a
              # change to any of them rebuilds the CUDA objects
              "inputs": [
                "<!@(node scripts/gyp.mjs list native/cuda .cuh)",
                "<!@(node scripts/gyp.mjs list native/include .h)",
                "<!@(node scripts/gyp.mjs list native/core .h)"
              ],
              "outputs": ["<(INTERMEDIATE_DIR)/<(RULE_INPUT_ROOT).o"],
              "process_outputs_as_sources": 1,
              "message": "nvcc <(RULE_INPUT_PATH)",
              "action": [
                "<(nvcc)", "-c", "<(RULE_INPUT_PATH)", "-o", "<@(_outputs)",
                "-std=c++17", "-O3", "--compiler-options", "-fPIC,-fvisibility=hidden", "-Inative/include", "-Inative",
                "-gencode=arch=compute_80,code=sm_80",
                "-gencode=arch=compute_90,code=sm_90",
                "-gencode=arch=compute_90,code=compute_90",
                "-DWN_WITH_CUDA=1"
              ]
            }
          ]
        }
      ]
    }]
  ]
}
