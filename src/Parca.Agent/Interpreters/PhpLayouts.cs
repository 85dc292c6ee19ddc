namespace Parca.Agent.Interpreters;

/// <summary>
/// PHP structure offsets on x86-64 (non-ZTS, as Debian builds php-cli). Every value is offsetof of the named field in
/// that version's headers (Zend/zend_globals.h, zend_compile.h, zend_types.h) as php8.2-dev installs them under
/// /usr/include/php/20220829, computed by compiling them; PhpLayoutTests compiles the same program in CI and
/// compares. Only Debian 12's 8.2 is in the table: other versions are detected, logged once and profiled natively.
/// </summary>
internal static class PhpLayouts
{
    private static readonly PhpLayout s_php82 = new()
    {
        Version = "8.2",
        ExecutorCurrentExecuteData = 488, // zend_executor_globals.current_execute_data
        ExecuteDataOpline = 0,            // zend_execute_data.opline
        ExecuteDataFunc = 24,             // zend_execute_data.func
        ExecuteDataCallInfo = 40,         // zend_execute_data.This.u1.type_info (ZEND_CALL_INFO)
        ExecuteDataPrevious = 48,         // zend_execute_data.prev_execute_data
        FunctionType = 0,                 // zend_function.type (u8)
        OpLine = 24,                      // zend_op.lineno (u32)
        FunctionName = 8,                 // zend_function.common.function_name (zend_string *; NULL for the main script)
        FunctionScope = 16,               // zend_function.common.scope (zend_class_entry *)
        OpArrayFilename = 152,            // zend_op_array.filename (zend_string *)
        OpArrayLineStart = 160,           // zend_op_array.line_start (u32)
        StringLength = 16,                // zend_string.len
        StringValue = 24,                 // zend_string.val
        ClassName = 8,                    // zend_class_entry.name (zend_string *)
    };

    /// <summary>The layout of PHP <paramref name="version"/> ("8.2.36"), or null when the agent has none.</summary>
    public static PhpLayout? For(string version) => version.StartsWith("8.2.", StringComparison.Ordinal) ? s_php82 : null;
}
