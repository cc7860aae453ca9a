# SPDX-License-Identifier: MIT
# The CBLAS every product goes through (src/core/gemm.c), chosen by NNF_BLAS:
#   OpenBLAS  (default) pkg-config openblas; thread control and its limit of
#             concurrent callers through openblas_* calls
#   BLIS      blis.h and cblas.h of the same installation (Debian's
#             libblis-dev has no .pc: the headers behind the blis.h
#             alternative), else pkg-config blis; threads through
#             bli_thread_set_num_threads
#   NAME      any other CBLAS by its pkg-config name (e.g. cblas, mkl-dynamic-lp64-seq);
#             nnfast tells it nothing about threads
# It defines the INTERFACE target nnfast_blas, which carries the macro that
# src/core/gemm.c reads (NNF_BLAS_OPENBLAS, NNF_BLAS_BLIS or NNF_BLAS_NAME),
# and NNF_BLAS_PC_LIBS, the flags a static link needs (nnfast.pc's Libs.private).
set(NNF_BLAS OpenBLAS CACHE STRING "The CBLAS: OpenBLAS, BLIS, or a pkg-config name")
find_package(PkgConfig REQUIRED)
add_library(nnfast_blas INTERFACE)

if(NNF_BLAS STREQUAL "OpenBLAS")
  pkg_check_modules(OPENBLAS REQUIRED IMPORTED_TARGET openblas)
  target_link_libraries(nnfast_blas INTERFACE PkgConfig::OPENBLAS)
  set(NNF_BLAS_DEFINES NNF_BLAS_OPENBLAS=1)
  list(JOIN OPENBLAS_STATIC_LDFLAGS " " NNF_BLAS_PC_LIBS)
elseif(NNF_BLAS STREQUAL "BLIS")
  pkg_check_modules(BLIS IMPORTED_TARGET blis)
  if(BLIS_FOUND)
    target_link_libraries(nnfast_blas INTERFACE PkgConfig::BLIS)
    list(JOIN BLIS_STATIC_LDFLAGS " " NNF_BLAS_PC_LIBS)
  else()
    find_file(NNF_BLIS_H blis.h PATH_SUFFIXES blis REQUIRED)
    get_filename_component(_blis_h ${NNF_BLIS_H} REALPATH) # past the alternatives link
    get_filename_component(_blis_dir ${_blis_h} DIRECTORY)
    if(NOT EXISTS ${_blis_dir}/cblas.h)
      message(FATAL_ERROR "NNF_BLAS=BLIS: no cblas.h beside ${_blis_h} (BLIS built without CBLAS)")
    endif()
    find_library(NNF_BLIS_LIBRARY blis REQUIRED)
    target_include_directories(nnfast_blas SYSTEM INTERFACE ${_blis_dir})
    target_link_libraries(nnfast_blas INTERFACE ${NNF_BLIS_LIBRARY})
    set(NNF_BLAS_PC_LIBS "-lblis -lm -lpthread")
  endif()
  set(NNF_BLAS_DEFINES NNF_BLAS_BLIS=1)
else()
  pkg_check_modules(NNF_CBLAS REQUIRED IMPORTED_TARGET ${NNF_BLAS})
  target_link_libraries(nnfast_blas INTERFACE PkgConfig::NNF_CBLAS)
  set(NNF_BLAS_DEFINES "NNF_BLAS_NAME=\"${NNF_BLAS}\"")
  list(JOIN NNF_CBLAS_STATIC_LDFLAGS " " NNF_BLAS_PC_LIBS)
endif()
target_compile_definitions(nnfast_blas INTERFACE ${NNF_BLAS_DEFINES})
message(STATUS "nnfast: BLAS ${NNF_BLAS}")
