# Native core of wavenet. Source lists come from scripts/gyp.mjs so that adding a file needs no edit here.
#  - wn_simd_avx2 / wn_simd_avx512: the files in native/cpu/simd compiled once per instruction set;
#    the library picks one at run time (native/cpu/dispatch.cc), so the addon runs on any x86-64 CPU.
#  - wn_cuda: native/cuda/*.cu compiled by nvcc into a static library when nvcc is found (with_cuda);
#    otherwise native/cuda/absent.cc answers every CUDA call with the reason.
{
  "variables": {
    "with_cuda%": "<!(node scripts/gyp.mjs with-cuda)",
    "nvcc%": "<!(node scripts/gyp.mjs nvcc)",
    "cuda_home%": "<!(node scripts/gyp.mjs cuda-home)",
    "wn_common_cflags": ["-O3", "-fno-math-errno", "-ffp-contract=fast", "-fvisibility=hidden", "-Wall", "-Wno-unused-function"]
  },
  "target_defaults": {
    "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
    "cflags_cc": ["-std=c++17", "-fexceptions", "<@(wn_common_cflags)"],
    "cflags": ["<@(wn_common_cflags)"],
    "include_dirs": ["native/include", "native"],
    "xcode_settings": { "GCC_ENABLE_CPP_EXCEPTIONS": "YES", "CLANG_CXX_LANGUAGE_STANDARD": "c++17", "OTHER_CFLAGS": ["-O3"] }
  },
  "targets": [
    {
      "target_name": "wavenet",
      "sources": [
        "<!@(node scripts/gyp.mjs list native/src .cc)",
        "<!@(node scripts/gyp.mjs list native/core .cc)",
        "<!@(node scripts/gyp.mjs list native/cpu .cc)",
        "<!@(node scripts/gyp.mjs list native/cpu/simd .cc)"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "WN_ISA=generic"],
      "libraries": ["-lpthread"],
      "conditions": [
        ["target_arch=='x64'", {
          "dependencies": ["wn_simd_avx2", "wn_simd_avx512"],
          "defines": ["WN_HAVE_X86_VARIANTS=1"]
        }],
        ["with_cuda=='true'", {
          "dependencies": ["wn_cuda"],
          "defines": ["WN_WITH_CUDA=1"],
          "libraries": ["<(cuda_home)/lib64/libcudart_static.a", "-ldl", "-lrt", "-lpthread"]
        }, {
          "sources": ["native/cuda/absent.cc"]
        }]
      ]
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
          "cflags": ["-mavx2", "-mfma", "-mf16c", "-fPIC"],
          "cflags_cc": ["-mavx2", "-mfma", "-mf16c", "-fPIC"]
        },
        {
          "target_name": "wn_simd_avx512",
          "type": "static_library",
          "sources": ["<!@(node scripts/gyp.mjs list native/cpu/simd .cc)"],
          "defines": ["WN_ISA=avx512"],
          "cflags": ["-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512dq", "-mavx512bf16", "-mavx2", "-mfma", "-mf16c", "-fPIC"],
          "cflags_cc": ["-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512dq", "-mavx512bf16", "-mavx2", "-mfma", "-mf16c", "-fPIC"]
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
              "inputs": ["<!@(node scripts/gyp.mjs list native/cuda .cuh)", "<!@(node scripts/gyp.mjs list native/include .h)"],
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
