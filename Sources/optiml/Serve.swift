import ArgumentParser
import Foundation
import NIOCore
import Logging
import OPTServe

/// `optiml serve`: the OpenAI-compatible HTTP server.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve a model over an OpenAI-compatible HTTP API (completions, chat completions, streaming).",
        discussion: """
        Endpoints: GET /v1/models, GET /v1/models/{id}, POST /v1/completions, POST /v1/chat/completions, GET /health, GET /metrics (Prometheus). \
        Requests from all clients share one continuously batched engine: new sequences join the running batch at token \
        boundaries, finished ones leave. A full queue answers 429; a client that disconnects has its sequences cancelled. \
        SIGINT or SIGTERM stops accepting connections and lets requests in flight finish. A request body must be JSON \
        (415 otherwise), at most 8 MB (413, at once for a larger Content-Length). \
        --max-memory bounds the KV caches (each sized for its prompt plus max_tokens) and work buffers of the sequences \
        running together (not the weights): sequences beyond it wait in the queue; a request that alone needs more gets 400. \
        --max-batch-tokens bounds the prompt tokens prefilled in one step (a longer prompt runs alone), and with it the \
        work buffers of a burst of long prompts.
        """)

    @OptionGroup var options: ModelOptions
    @Option(help: "Address to bind (loopback unless told otherwise).") var host = "127.0.0.1"
    @Option(help: "Port (0: any free port).") var port = 8080
    @Option(help: "Require `Authorization: Bearer KEY` on /v1 endpoints.") var apiKey: String?
    @Option(help: "Model name in requests and responses (default: the model folder's name); requests may also name the folder's path.") var modelName: String?
    @Option(help: "Sequences decoded together at most.") var maxBatch = 16
    @Option(help: "Sequences waiting for a batch slot at most (beyond: 429).") var maxQueue = 256
    @Option(help: "Prompt tokens prefilled in one step at most (a longer prompt runs alone).") var maxBatchTokens = Engine.defaultMaxBatchTokens
    @Option(help: "Largest max_tokens a request may ask for.") var maxTokens = 2048
    @Option(help: "Memory for KV caches and work buffers of running sequences, in bytes or with a K, M or G suffix (powers of 1024); default: half the physical memory.")
    var maxMemory: String?
    @Option(help: "Seconds a client has to send a request's headers (from connecting, or from the previous response) and that its body may pause; then the connection is closed.")
    var readTimeout = 30.0
    @Option(help: "The least severe log lines written to stderr: a line per completion request at info, server failures at error.")
    var logLevel: Logger.Level = .info

    func validate() throws {
        guard maxBatch > 0, maxBatchTokens > 0, maxQueue >= 0, maxTokens > 0, (0...65535).contains(port) else {
            throw ValidationError("--max-batch, --max-batch-tokens and --max-tokens must be positive, --max-queue not negative, --port in 0…65535")
        }
        guard (0.001...86_400).contains(readTimeout) else { throw ValidationError("--read-timeout must be between 0.001 and 86400 seconds") }
        if let maxMemory, Self.bytes(maxMemory) == nil {
            throw ValidationError("--max-memory must be a number of bytes, at least 1, optionally with K, M or G (e.g. 2G, 512M), got \(maxMemory)")
        }
    }

    /// `text` as bytes: a positive number with an optional K, M or G suffix (powers of 1024).
    static func bytes(_ text: String) -> Int? {
        let units: [Character: Double] = ["K": 1024, "M": 1024 * 1024, "G": 1024 * 1024 * 1024]
        var digits = text.trimmingCharacters(in: .whitespaces).uppercased()
        var scale = 1.0
        if let last = digits.last, let unit = units[last] {
            scale = unit
            digits.removeLast()
        }
        // At least one byte: "0.5" would be a budget of 0 that refuses every request.
        guard let value = Double(digits), value.isFinite, value * scale >= 1, value * scale < Double(Int.max) else { return nil }
        return Int(value * scale)
    }

    func run() async throws {
        let generator = try options.loadGenerator()
        let budget = maxMemory.flatMap(Self.bytes) ?? Engine.defaultMemoryBudget
        let engine = Engine(model: generator.model, tokenizer: generator.tokenizer, maxBatch: maxBatch, maxQueue: maxQueue, memoryBudget: budget,
                            maxBatchTokens: maxBatchTokens)
        var limits = ServeLimits()
        limits.maxTokens = maxTokens
        limits.readTimeout = .nanoseconds(Int64(readTimeout * 1e9))
        let name = modelName ?? options.directory.standardizedFileURL.lastPathComponent
        let level = logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let server = OpenAIServer(engine: engine, modelName: name, modelDirectory: options.directory, apiKey: apiKey, limits: limits,
                                  logger: Logger(label: "optiml.serve"))
        let host = host
        let app = server.application(host: host, port: port) { bound in
            FileHandle.standardError.write(Data("serving \(name) on http://\(host):\(bound) (max batch \(maxBatch), queue \(maxQueue), memory budget \(budget >> 20) MiB)\n".utf8))
        }
        // The engine is a service of the application: it starts with it and, on a signal, stops
        // after the HTTP server has answered the requests in flight.
        do { try await app.runService(gracefulShutdownSignals: [.sigterm, .sigint]) } catch let error as IOError {
            // NIO's socket errors (bind, listen) name the system call, not the address.
            throw CLIError(message: "cannot serve on \(host):\(port): \(String(cString: strerror(error.errnoCode)))")
        } catch { throw CLIError(error) }
    }
}
