// Defines std::ios_base_library_init() (GLIBCXX_3.4.32, GCC 13) for libstdc++ 12
// on Debian 12, so TorchSharp's prebuilt libLibTorchSharp.so loads. See build/patch-torchsharp.py.
#include <ios>
namespace std { void ios_base_library_init() { static ios_base::Init i; } }
