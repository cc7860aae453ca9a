# SPDX-License-Identifier: MIT
# Debian packages, one per install component (`cpack -G DEB` in a build tree
# configured with CMAKE_INSTALL_PREFIX=/usr):
#   libnnfast1    runtime  libnnfast.so.1; its ldconfig trigger (cmake/deb/triggers)
#   libnnfast-dev devel    nnfast.h, libnnfast.so, libnnfast.a, nnfast.pc, the
#                          CMake package, nnfast(3) and the documentation
#   nnfast-tools  tools    nnfast-bench and nnfast-bench(1)
# and, when libnnfast_mpi is built:
#   libnnfast-mpi1    mpi_runtime  libnnfast_mpi.so.1
#   libnnfast-mpi-dev mpi_devel    nnfast_mpi.h, libnnfast_mpi.so, nnfast-mpi.pc,
#                                  the CMake component nnfast::mpi
# The shared objects' dependencies come from dpkg-shlibdeps (dpkg-dev).
set(CPACK_PACKAGE_NAME nnfast)
set(CPACK_PACKAGE_VENDOR "nnfast")
set(CPACK_PACKAGE_CONTACT "nnfast maintainers <nnfast@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)
set(CPACK_COMPONENTS_ALL runtime devel tools)
if(TARGET nnfast_mpi)
  list(APPEND CPACK_COMPONENTS_ALL mpi_runtime mpi_devel)
endif()
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION libs)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)    # libnnfast1's shlibs file
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(_nnf_debver "${PROJECT_VERSION}-${CPACK_DEBIAN_PACKAGE_RELEASE}")

set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME libnnfast${PROJECT_VERSION_MAJOR})
set(CPACK_COMPONENT_RUNTIME_DESCRIPTION
  "Fully-connected neural networks in C: shared library\n The nnfast library trains and runs dense networks; every product is one\n CBLAS sgemm call.")
set(CPACK_DEBIAN_RUNTIME_PACKAGE_CONTROL_EXTRA ${PROJECT_SOURCE_DIR}/cmake/deb/triggers)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)

set(CPACK_DEBIAN_DEVEL_PACKAGE_NAME libnnfast-dev)
set(CPACK_DEBIAN_DEVEL_PACKAGE_SECTION libdevel)
set(CPACK_COMPONENT_DEVEL_DESCRIPTION
  "Fully-connected neural networks in C: development files\n The header, pkg-config file, CMake package, static library, nnfast(3)\n and the documentation of nnfast.")
# libnnfast.a needs the BLAS's and zlib's link files; a shared link needs none.
if(NNF_BLAS STREQUAL "OpenBLAS")
  set(_nnf_blas_dev libopenblas-dev)
elseif(NNF_BLAS STREQUAL "BLIS")
  set(_nnf_blas_dev libblis-dev)
endif()
set(CPACK_DEBIAN_DEVEL_PACKAGE_DEPENDS "libnnfast${PROJECT_VERSION_MAJOR} (= ${_nnf_debver})")
if(_nnf_blas_dev)
  string(APPEND CPACK_DEBIAN_DEVEL_PACKAGE_DEPENDS ", ${_nnf_blas_dev}")
endif()
string(APPEND CPACK_DEBIAN_DEVEL_PACKAGE_DEPENDS ", zlib1g-dev")

set(CPACK_DEBIAN_TOOLS_PACKAGE_NAME nnfast-tools)
set(CPACK_DEBIAN_TOOLS_PACKAGE_SECTION science)
set(CPACK_COMPONENT_TOOLS_DESCRIPTION
  "Fully-connected neural networks in C: nnfast-bench\n nnfast-bench checks nnfast's train step against a float64 reference and\n times it against the machine's sgemm peak and memory bandwidth.")
set(CPACK_DEBIAN_MPI_RUNTIME_PACKAGE_NAME libnnfast-mpi${PROJECT_VERSION_MAJOR})
set(CPACK_COMPONENT_MPI_RUNTIME_DESCRIPTION
  "Fully-connected neural networks in C: data-parallel training over MPI\n libnnfast_mpi trains one nnfast model on many MPI ranks, summing their\n gradients each step.")
# dpkg-shlibdeps finds libnnfast.so.1 in the build tree (libnnfast1 is not
# installed where the packages are built); the dependency is then stated
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS ${PROJECT_BINARY_DIR})
set(CPACK_DEBIAN_MPI_RUNTIME_PACKAGE_DEPENDS "libnnfast${PROJECT_VERSION_MAJOR} (= ${_nnf_debver})")
set(CPACK_DEBIAN_MPI_RUNTIME_PACKAGE_CONTROL_EXTRA ${PROJECT_SOURCE_DIR}/cmake/deb/triggers)
set(CPACK_DEBIAN_MPI_RUNTIME_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
set(CPACK_DEBIAN_MPI_DEVEL_PACKAGE_NAME libnnfast-mpi-dev)
set(CPACK_DEBIAN_MPI_DEVEL_PACKAGE_SECTION libdevel)
set(CPACK_COMPONENT_MPI_DEVEL_DESCRIPTION
  "Fully-connected neural networks in C: MPI development files\n The header nnfast_mpi.h, pkg-config file and CMake component of\n libnnfast_mpi.")
set(CPACK_DEBIAN_MPI_DEVEL_PACKAGE_DEPENDS
  "libnnfast-mpi${PROJECT_VERSION_MAJOR} (= ${_nnf_debver}), libnnfast-dev (= ${_nnf_debver}), libopenmpi-dev")
include(CPack)
