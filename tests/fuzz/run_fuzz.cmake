# ctest's driver for one harness: fuzz a scratch copy of the seed corpus (so the checked-in
# seeds never change) for SECONDS; any crash, sanitizer report or leak fails the test and
# leaves the input in WORK/ as crash-*, leak-* or timeout-*. ARGS: more libFuzzer flags.
foreach(v HARNESS SEEDS WORK SECONDS)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "run_fuzz.cmake needs -D${v}=...")
  endif()
endforeach()
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})
file(COPY ${SEEDS}/ DESTINATION ${WORK}/corpus)
# -timeout: no input takes a second; ten mean a hang (as libgit2's on some rules files).
execute_process(COMMAND ${HARNESS} -max_total_time=${SECONDS} -timeout=10 -print_final_stats=1
                        -artifact_prefix=${WORK}/ ${ARGS} ${WORK}/corpus
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${HARNESS} failed (${rc}); the input is in ${WORK}/")
endif()
