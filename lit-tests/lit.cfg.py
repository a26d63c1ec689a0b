# lit configuration for the Hailo compiler's IR tests.
#
# RUN lines use only hailo-opt, hailo, filecheck and not, through lit's
# internal shell. HAILO_TOOLS_DIR points at the built binaries (the test
# script sets it to target/debug).
import os
import lit.formats

config.name = "hailo"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".hir", ".test"]
config.excludes = ["Inputs"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(os.environ.get("LIT_EXEC_ROOT", "/tmp/hailo-lit"))

tools = os.environ.get("HAILO_TOOLS_DIR")
if not tools:
    raise RuntimeError("set HAILO_TOOLS_DIR to the directory holding hailo-opt and hailo")
config.environment["PATH"] = os.pathsep.join([tools, os.path.dirname(os.path.realpath(__file__)) + "/../.venv/bin", os.environ["PATH"]])
config.substitutions.append(("FileCheck", "filecheck"))
