# SPDX-License-Identifier: MIT
# `cmake --build <dir> --target uninstall`: removes every file that the last
# `cmake --install <dir>` wrote (its install_manifest.txt), then the
# directories that leaves empty up to the prefix. Included by CMakeLists.txt,
# it defines the target; run with -P, it does the work.
if(NOT CMAKE_SCRIPT_MODE_FILE)
  add_custom_target(uninstall
    COMMAND ${CMAKE_COMMAND} -DNNF_MANIFEST=${PROJECT_BINARY_DIR}/install_manifest.txt
            -P ${CMAKE_CURRENT_LIST_FILE}
    COMMENT "Removing the files of the last install" VERBATIM)
  return()
endif()

if(NOT EXISTS "${NNF_MANIFEST}")
  message(FATAL_ERROR "uninstall: no ${NNF_MANIFEST}: nothing was installed from this build tree")
endif()
file(STRINGS "${NNF_MANIFEST}" _files)
set(_dirs)
foreach(_f IN LISTS _files)
  if(IS_SYMLINK "${_f}" OR EXISTS "${_f}")
    message(STATUS "Removing ${_f}")
    file(REMOVE "${_f}")
  endif()
  get_filename_component(_d "${_f}" DIRECTORY)
  list(APPEND _dirs "${_d}")
endforeach()
# nnfast's own directories (share/doc/nnfast, lib/cmake/nnfast and those
# below them), deepest first, when empty; shared ones such as include/ or
# lib/pkgconfig stay, even when empty: other packages share them.
list(REMOVE_DUPLICATES _dirs)
list(SORT _dirs ORDER DESCENDING)
foreach(_d IN LISTS _dirs)
  while(IS_DIRECTORY "${_d}" AND _d MATCHES "/nnfast(/|$)")
    file(GLOB _left "${_d}/*")
    file(GLOB _hidden "${_d}/.*")
    if(_left OR _hidden)
      break()
    endif()
    file(REMOVE_RECURSE "${_d}")
    get_filename_component(_d "${_d}" DIRECTORY)
  endwhile()
endforeach()
