using Parca.Agent.Interpreters;

namespace Parca.Agent.Tests.Interpreters;

/// <summary>
/// The PHP 8.2 table must equal what Debian's own headers say: compile offsetof of every field the agent reads
/// against php8.2-dev's headers (php-config8.2 --includes) and compare; and the version the detector reads from the
/// binary must be the headers' PHP_VERSION. The same headers compiled as a thread-safe (ZTS) build must give the same
/// offsets: ZTS moves where executor_globals is, not what is inside the structures the walker reads.
/// </summary>
public sealed class PhpLayoutTests
{
    [Fact]
    public void Php_82_offsets_match_Debians_headers()
    {
        var c = Offsets("");
        using (var handle = File.OpenHandle("/usr/bin/php8.2"))
        {
            Assert.Equal(c["version"], PhpDetector.ReadVersion(Parca.Symbols.Elf.ElfFile.Open("/usr/bin/php8.2"), handle));
        }
    }

    [Fact]
    public void Php_82_offsets_are_the_same_in_a_thread_safe_ZTS_build() => Offsets("-DZTS=1 -DZEND_ENABLE_STATIC_TSRMLS_CACHE=1 ");

    [Fact]
    public void Zts_thread_local_offset_decoded_from_tsrm_get_ls_cache_tcb_offset_is_where_the_symbol_table_puts_it()
    {
        var path = PhpEndToEndTests.ZtsPhp();
        var elf = Parca.Symbols.Elf.ElfFile.Open(path);
        using var handle = File.OpenHandle(path);
        var symbols = ElfNamedSymbols.Find(elf, handle, "tsrm_get_ls_cache_tcb_offset", "_tsrm_ls_cache");
        var code = ElfNamedSymbols.ReadAt(elf, handle, symbols["tsrm_get_ls_cache_tcb_offset"].Value, 7);
        Assert.NotNull(code);
        var decoded = PhpDetector.TcbOffsetImmediate(code);
        Assert.NotNull(decoded);
        Assert.Equal(InterpreterFiles.StaticTlsOffset(elf, symbols["_tsrm_ls_cache"].Value), decoded.Value);

        Assert.Null(PhpDetector.TcbOffsetImmediate([0x48, 0x8b, 0x05, 0, 0, 0, 0])); // the GOT load of a shared libphp
        Assert.Null(PhpDetector.TcbOffsetImmediate([0x48, 0xc7, 0xc0, 8, 0, 0, 0]));  // not below the thread pointer
    }

    /// <summary>Compiles the offsetof program (with <paramref name="defines"/>), asserts the table equals it and returns its output.</summary>
    private static Dictionary<string, string> Offsets(string defines)
    {
        var c = LayoutProgram.Run(
            """
            #include <main/php.h>
            #include <Zend/zend_globals.h>
            #include <stdio.h>
            #include <stddef.h>
            #define O(name, type, field) printf(name " %zu\n", offsetof(type, field));
            int main(void) {
                O("eg_current_execute_data", zend_executor_globals, current_execute_data)
                O("ex_opline", zend_execute_data, opline) O("ex_func", zend_execute_data, func) O("ex_call_info", zend_execute_data, This.u1.type_info)
                O("ex_prev", zend_execute_data, prev_execute_data)
                O("func_type", zend_function, type) O("func_name", zend_function, common.function_name) O("func_scope", zend_function, common.scope)
                O("op_filename", zend_op_array, filename) O("op_line_start", zend_op_array, line_start) O("zop_lineno", zend_op, lineno)
                O("str_len", zend_string, len) O("str_val", zend_string, val) O("ce_name", zend_class_entry, name)
                printf("flags %#x %d\n", (unsigned)ZEND_CALL_TOP, ZEND_USER_FUNCTION);
                printf("version %s\n", PHP_VERSION);
            #ifdef ZTS
                (void)sizeof(executor_globals_offset); /* fails to compile unless the ZTS declarations are in */
            #endif
                return 0;
            }
            """,
            defines + "-w " + Tracees.Run("php-config8.2", "--includes").Trim());
        var l = PhpLayouts.For(c["version"])!;
        Assert.NotNull(l);

        var expected = new (string Name, int Value)[]
        {
            ("eg_current_execute_data", l.ExecutorCurrentExecuteData), ("ex_opline", l.ExecuteDataOpline), ("ex_func", l.ExecuteDataFunc),
            ("ex_call_info", l.ExecuteDataCallInfo), ("ex_prev", l.ExecuteDataPrevious), ("func_type", l.FunctionType), ("func_name", l.FunctionName),
            ("func_scope", l.FunctionScope), ("op_filename", l.OpArrayFilename), ("op_line_start", l.OpArrayLineStart), ("zop_lineno", l.OpLine),
            ("str_len", l.StringLength), ("str_val", l.StringValue), ("ce_name", l.ClassName),
        };
        LayoutProgram.AssertValues(c, expected);

        Assert.Equal("0x20000 2", c["flags"]); // PARCA_PHP_CALL_TOP, PARCA_PHP_USER_FUNCTION in bpf/interp_php.h
        return c;
    }
}
