# SPDX-License-Identifier: MIT
# The docs target (NNF_BUILD_DOCS=ON): the HTML reference of include/nnfast.h,
# from its Doxygen comments, into <build>/html; any warning (an undocumented
# parameter, a broken reference) fails the build. Installed, when built, to
# share/doc/nnfast/html.
if(NOT NNF_BUILD_DOCS)
  return()
endif()
find_package(Doxygen 1.9 REQUIRED)
set(DOXYGEN_PROJECT_NAME nnfast)
set(DOXYGEN_PROJECT_BRIEF "${PROJECT_DESCRIPTION}")
set(DOXYGEN_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR})
set(DOXYGEN_GENERATE_HTML YES)
set(DOXYGEN_GENERATE_LATEX NO)
set(DOXYGEN_OPTIMIZE_OUTPUT_FOR_C YES)
set(DOXYGEN_EXTRACT_ALL YES)
set(DOXYGEN_WARN_AS_ERROR YES)
set(DOXYGEN_WARN_IF_UNDOCUMENTED YES)
set(DOXYGEN_QUIET YES)
set(DOXYGEN_FULL_PATH_NAMES NO)
set(DOXYGEN_MACRO_EXPANSION YES)
set(DOXYGEN_HAVE_DOT NO)
doxygen_add_docs(docs ${PROJECT_SOURCE_DIR}/include/nnfast.h
  WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
  COMMENT "Doxygen: the reference of nnfast.h into ${PROJECT_BINARY_DIR}/html")
install(DIRECTORY ${PROJECT_BINARY_DIR}/html/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/html
  COMPONENT devel OPTIONAL)
