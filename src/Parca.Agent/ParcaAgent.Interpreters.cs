using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Parca.Agent.Interpreters;

namespace Parca.Agent;

/// <summary>Interpreted languages (docs/agent.md "Python stacks", "Perl stacks", "Ruby stacks", "PHP stacks"): wiring of <see cref="InterpreterManager"/>.</summary>
public sealed partial class ParcaAgent
{
    /// <summary>Interpreter support (null with --python-, --perl-, --ruby- and --php-unwinding-disable together, or before start).</summary>
    internal InterpreterManager? Interpreters => _interpreters;

    private void StartInterpreters()
    {
        var loggers = _app.Services.GetRequiredService<ILoggerFactory>();
        _interpreters = new InterpreterManager(new InterpreterMaps(_sampler!), _processes.Objects, _processes.Files, Options.InterpreterSymbolCacheSize, loggers.CreateLogger("parca.agent.interpreters"),
            python: !Options.PythonUnwindingDisable, perl: !Options.PerlUnwindingDisable, ruby: !Options.RubyUnwindingDisable, php: !Options.PhpUnwindingDisable, v8: !Options.V8UnwindingDisable);
        _processes.Captured += _interpreters.AddProcess;
        _windows.Interpreters = _interpreters;
        _aggregator!.Interpreters = _interpreters.Symbols;
        Metrics.Interpreters = _interpreters;
    }
}
