# Runs PROGRAM (through EMULATOR when cross-compiled) with ARGS and checks its exit status
# (STATUS) and that standard error matches MESSAGE: the tools' bad command lines and inputs.
#   cmake -DEMULATOR=... -DPROGRAM=... -DARGS=a;b -DSTATUS=2 -DMESSAGE=regex -P exit_status.cmake
execute_process(COMMAND ${EMULATOR} ${PROGRAM} ${ARGS}
                RESULT_VARIABLE status OUTPUT_QUIET ERROR_VARIABLE err)
if(NOT "${status}" STREQUAL "${STATUS}")
  message(FATAL_ERROR "exit status ${status}, expected ${STATUS}; standard error:\n${err}")
endif()
if(NOT err MATCHES "${MESSAGE}")
  message(FATAL_ERROR "standard error does not match '${MESSAGE}':\n${err}")
endif()
