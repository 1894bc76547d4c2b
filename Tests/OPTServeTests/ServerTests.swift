import Foundation
import TestSupport
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Hummingbird
import Logging
import OPTEval
import OPTModel
import OPTOpenAI
import ServiceLifecycle
import Testing
@testable import OPTServe

let packageRoot = RepositoryPaths.packageRoot

/// A real server on a free loopback port, in this process, run by a service group of its own.
final class TestServer: @unchecked Sendable {
    static let modelDirectory = packageRoot.appendingPathComponent("Tests/Fixtures/models/tiny-preln-safetensors-sharded")
    static let generator = try! Generator(directory: modelDirectory)

    let engine: Engine
    let server: OpenAIServer
    let port: Int
    /// Runs the application; `triggerGracefulShutdown()` stops it as a signal would.
    let group: ServiceGroup
    /// Whether the engine is one of the application's services (else the test runs it, or never does).
    private let engineIsService: Bool
    private let task: Task<Void, Error>

    init(apiKey: String? = nil, maxBatch: Int = 8, maxQueue: Int = 64, startEngine: Bool = true, readTimeout: Duration? = nil,
         maxTokens: Int? = nil, memoryBudget: Int = Engine.defaultMemoryBudget, generator: Generator = TestServer.generator,
         logger: Logger = Logger(label: "optiml.serve.test")) async throws {
        engine = Engine(model: generator.model, tokenizer: generator.tokenizer, maxBatch: maxBatch, maxQueue: maxQueue,
                        memoryBudget: memoryBudget)
        var limits = ServeLimits()
        if let readTimeout { limits.readTimeout = readTimeout }
        if let maxTokens { limits.maxTokens = maxTokens }
        server = OpenAIServer(engine: engine, modelName: "tiny", modelDirectory: Self.modelDirectory, apiKey: apiKey, limits: limits,
                              logger: logger)
        let (ports, reported) = AsyncStream<Int>.makeStream()
        engineIsService = startEngine
        group = startEngine ? Self.group(server.application(host: "127.0.0.1", port: 0) { reported.yield($0) })
                            : Self.group(server.application(host: "127.0.0.1", port: 0, services: []) { reported.yield($0) })
        task = Task { [group] in try await group.run() }
        var iterator = ports.makeAsyncIterator()
        port = await iterator.next() ?? 0
    }

    private static func group(_ app: some ApplicationProtocol) -> ServiceGroup {
        ServiceGroup(configuration: .init(services: [app], logger: app.logger))
    }

    /// Tears the application down (its engine finishes the sequences it accepted).
    func stop() {
        task.cancel()
        if !engineIsService { Task { [engine] in await engine.shutdown() } }
    }

    /// Waits for the service group to end.
    func finished() async throws { try await task.value }

    var base: URL { URL(string: "http://127.0.0.1:\(port)")! }

    /// POSTs raw bytes (or GETs without a body); returns the status and the body.
    func send(_ path: String, body: Data? = nil, headers: [String: String] = [:]) async throws -> (Int, Data) {
        // Generous: other suites running beside these may hold every cooperative thread for a while.
        var request = URLRequest(url: base.appendingPathComponent(path), timeoutInterval: 600)
        request.httpMethod = body == nil ? "GET" : "POST"
        request.httpBody = body
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        for (key, value) in headers { request.setValue(value, forHTTPHeaderField: key) }
        // One connection per request: FoundationNetworking's shared session sometimes stalls when
        // many requests to one host share its connections (curl's parallel clients never stall).
        request.setValue("close", forHTTPHeaderField: "Connection")
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 600
        let session = URLSession(configuration: configuration)
        defer { session.finishTasksAndInvalidate() }
        return try await withCheckedThrowingContinuation { continuation in
            session.dataTask(with: request) { data, response, error in
                if let error { continuation.resume(throwing: error); return }
                continuation.resume(returning: ((response as? HTTPURLResponse)?.statusCode ?? 0, data ?? Data()))
            }.resume()
        }
    }

    func post(_ path: String, _ object: [String: Any], headers: [String: String] = [:]) async throws -> (Int, [String: Any]) {
        let (status, data) = try await send(path, body: try JSONSerialization.data(withJSONObject: object), headers: headers)
        return (status, (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:])
    }
}

func text(_ body: [String: Any], _ index: Int = 0) -> String? {
    guard let choices = body["choices"] as? [[String: Any]], index < choices.count else { return nil }
    return choices[index]["text"] as? String
}

@Suite(.serialized) struct ServerTests {
    let prompts = ["The capital of France is", "Q: What is 12 plus 7?\nA:", "Héllo wörld — 東京 🙂"]

    func greedy(_ prompt: String, _ tokens: Int) throws -> GenerationResult {
        var p = GenerationParameters()
        p.maxNewTokens = tokens
        return try TestServer.generator.generate(prompt: prompt, parameters: p)
    }

    @Test func greedyTextEqualsGenerateForEveryPromptShape() async throws {
        let server = try await TestServer()
        defer { server.stop() }
        let expected = try prompts.map { try greedy($0, 12) }
        for (prompt, reference) in zip(prompts, expected) {
            let (status, body) = try await server.post("v1/completions", ["model": "tiny", "prompt": prompt, "max_tokens": 12, "temperature": 0])
            #expect(status == 200)
            #expect(text(body) == reference.text)
            #expect(((body["choices"] as? [[String: Any]])?[0]["finish_reason"] as? String) == (reference.finishReason == .length ? "length" : "stop"))
            #expect((body["usage"] as? [String: Int])?["completion_tokens"] == reference.outputIDs.count)
        }
        // A list of strings, token ids, a list of token-id lists; n choices.
        let (_, list) = try await server.post("v1/completions", ["prompt": prompts, "max_tokens": 12, "temperature": 0, "n": 2])
        #expect((0..<6).map { text(list, $0) } == expected.flatMap { [$0.text, $0.text] })
        let ids = expected[0].promptIDs
        let (_, single) = try await server.post("v1/completions", ["prompt": ids, "max_tokens": 12, "temperature": 0])
        #expect(text(single) == expected[0].text)
        let (_, lists) = try await server.post("v1/completions", ["prompt": [ids, expected[1].promptIDs], "max_tokens": 12, "temperature": 0])
        #expect(text(lists, 1) == expected[1].text)
        // Stop strings cut the text as generate does.
        let stop = String(expected[0].text.prefix(3).dropFirst(2))
        if !stop.isEmpty {
            var p = GenerationParameters()
            p.maxNewTokens = 12
            p.stop = [stop]
            let reference = try TestServer.generator.generate(prompt: prompts[0], parameters: p)
            let (_, stopped) = try await server.post("v1/completions", ["prompt": prompts[0], "max_tokens": 12, "temperature": 0, "stop": stop])
            #expect(text(stopped) == reference.text)
        }
    }

    @Test func echoedLogprobsScoreAsTheEngineDoes() async throws {
        let server = try await TestServer()
        defer { server.stop() }
        for (context, continuation) in [("The capital of France is", " Paris"), ("Q: Is the sky blue?\nA:", " no, it is green today")] {
            let (status, body) = try await server.post("v1/completions", ["prompt": context + continuation, "max_tokens": 0, "echo": true, "logprobs": 2])
            #expect(status == 200)
            let choice = try #require((body["choices"] as? [[String: Any]])?.first)
            #expect(choice["text"] as? String == context + continuation)
            let logprobs = try #require(choice["logprobs"] as? [String: Any])
            let offsets = try #require(logprobs["text_offset"] as? [Int]), values = try #require(logprobs["token_logprobs"] as? [Any])
            let tokens = try #require(logprobs["tokens"] as? [String]), tops = try #require(logprobs["top_logprobs"] as? [Any])
            #expect(values.first is NSNull && tops.first is NSNull && tokens.count == offsets.count && tops.count == tokens.count)
            let sum = zip(offsets, values).filter { $0.0 >= context.count }.compactMap { $0.1 as? Double }.reduce(0, +)
            let reference = try TestServer.generator.score(context: context, continuation: continuation)
            #expect(abs(sum - reference.logprob) < 1e-4, "\(sum) vs \(reference.logprob)")
            #expect((tops.last as? [String: Double])?.count ?? 0 >= 2)
        }
    }

    @Test func streamingGivesTheSameTextAndEndsWithDone() async throws {
        let server = try await TestServer()
        defer { server.stop() }
        let reference = try greedy(prompts[2], 12)
        let body = try JSONSerialization.data(withJSONObject: ["prompt": prompts[2], "max_tokens": 12, "temperature": 0, "stream": true,
                                                               "stream_options": ["include_usage": true]])
        let (status, data) = try await server.send("v1/completions", body: body)
        #expect(status == 200)
        let events = String(decoding: data, as: UTF8.self).components(separatedBy: "\n\n").filter { !$0.isEmpty }
        #expect(events.last == "data: [DONE]")
        let chunks = events.dropLast().compactMap { try? JSONSerialization.jsonObject(with: Data($0.dropFirst(6).utf8)) as? [String: Any] }
        #expect(chunks.count == events.count - 1)
        let streamed = chunks.compactMap { text($0) }.joined()
        #expect(streamed == reference.text)
        #expect((chunks.last?["usage"] as? [String: Int])?["completion_tokens"] == reference.outputIDs.count)

        let chat = try JSONSerialization.data(withJSONObject: ["messages": [["role": "user", "content": "What is 2+2?"]], "max_tokens": 6,
                                                               "temperature": 0, "stream": true])
        let (_, chatData) = try await server.send("v1/chat/completions", body: chat)
        let chatEvents = String(decoding: chatData, as: UTF8.self).components(separatedBy: "\n\n").filter { !$0.isEmpty }
        let deltas = chatEvents.dropLast().compactMap { try? JSONSerialization.jsonObject(with: Data($0.dropFirst(6).utf8)) as? [String: Any] }
            .compactMap { (($0["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any])?["content"] as? String }
        let chatReference = try greedy(try ChatTemplate.prompt(messages: [ChatRequestMessage(role: "user", content: "What is 2+2?")]), 6)
        #expect(chatEvents.last == "data: [DONE]" && deltas.joined() == chatReference.text)
        let (_, whole) = try await server.post("v1/chat/completions", ["messages": [["role": "user", "content": "What is 2+2?"]], "max_tokens": 6, "temperature": 0])
        #expect((((whole["choices"] as? [[String: Any]])?.first?["message"]) as? [String: Any])?["content"] as? String == chatReference.text)
    }

    @Test func badRequestsGetOpenAIErrorsAndTheServerKeepsServing() async throws {
        let server = try await TestServer(apiKey: "sekrit")
        defer { server.stop() }
        let auth = ["Authorization": "Bearer sekrit"]
        func expectError(_ body: Data, status: Int = 400, param: String? = nil, headers: [String: String]? = nil, path: String = "v1/completions") async throws {
            let (code, data) = try await server.send(path, body: body, headers: headers ?? auth)
            let error = (try? JSONSerialization.jsonObject(with: data) as? [String: Any])?["error"] as? [String: Any]
            #expect(code == status, "\(String(decoding: data, as: UTF8.self))")
            #expect(error?["message"] is String && error?["type"] is String, "\(String(decoding: data, as: UTF8.self))")
            if let param { #expect(error?["param"] as? String == param) }
        }
        func json(_ object: [String: Any]) throws -> Data { try JSONSerialization.data(withJSONObject: object) }
        try await expectError(Data("{\"prompt\": ".utf8))
        try await expectError(Data([0x7B, 0x22, 0xFF, 0xFE, 0x22, 0x7D]))  // invalid UTF-8
        try await expectError(Data("[1, 2]".utf8))
        try await expectError(try json(["prompt": "hi", "max_tokens": "ten"]), param: "max_tokens")
        try await expectError(try json(["prompt": "hi", "echo": 1]), param: "echo")
        try await expectError(try json(["prompt": 5]), param: "prompt")
        try await expectError(try json(["prompt": "hi", "model": "gpt-4"]), status: 404, param: "model")
        try await expectError(try json(["prompt": String(repeating: "word ", count: 80)]), param: "prompt")  // beyond 64 positions
        try await expectError(try json(["prompt": "hi", "max_tokens": 100_000]), param: "max_tokens")
        try await expectError(try json(["prompt": "hi", "n": 1000]), param: "n")
        try await expectError(try json(["prompt": [2, 99_999]]), param: "prompt")
        try await expectError(try json(["prompt": "hi", "temperature": -1]), param: "temperature")
        try await expectError(try json(["prompt": "hi", "top_p": 1e-50]), param: "top_p")
        try await expectError(try json(["messages": []]), param: "messages", path: "v1/chat/completions")
        try await expectError(try json(["messages": [["role": "user", "content": "hi"]], "logprobs": true, "top_logprobs": 21]),
                              param: "top_logprobs", path: "v1/chat/completions")
        // More sequences than the server holds at once (64 queued and 8 running): never admitted, so not "busy".
        try await expectError(try json(["prompt": Array(repeating: "hi", count: 5), "n": 16, "max_tokens": 1]), param: "prompt")
        // Another method than POST on a completion endpoint.
        for path in ["v1/completions", "v1/chat/completions"] {
            let (code, data) = try await server.send(path, headers: auth)
            let error = (try? JSONSerialization.jsonObject(with: data) as? [String: Any])?["error"] as? [String: Any]
            #expect(code == 405 && error?["code"] as? String == "method_not_allowed", "\(path): \(code) \(String(decoding: data, as: UTF8.self))")
        }
        // Keys.
        try await expectError(try json(["prompt": "hi"]), status: 401, headers: [:])
        try await expectError(try json(["prompt": "hi"]), status: 401, headers: ["Authorization": "Bearer wrong"])
        let (models, _) = try await server.send("v1/models", headers: [:])
        #expect(models == 401)
        // Still serving.
        let (status, body) = try await server.post("v1/completions", ["prompt": "hi", "max_tokens": 2], headers: auth)
        #expect(status == 200 && text(body) != nil)
        let (health, _) = try await server.send("health")
        #expect(health == 200)
        let (_, metrics) = try await server.send("metrics")
        let page = String(decoding: metrics, as: UTF8.self)
        #expect(page.contains("optiml_requests_total{endpoint=\"/v1/completions\",status=\"400\"}") && page.contains("optiml_queue_depth 0"))
        #expect(page.contains("optiml_request_duration_seconds_bucket{le=\"+Inf\"}"))
    }

    /// Parallel clients get the tokens of sequential runs, and share decoding steps: with a batch of
    /// 4 some steps run 4 sequences, with a batch of 1 none runs more than one. The engine starts once
    /// every request waits in its queue, so how many arrive before the first step is no matter of timing.
    @Test(arguments: [4, 1]) func parallelClientsGetTheTokensOfSequentialRuns(maxBatch: Int) async throws {
        let server = try await TestServer(maxBatch: maxBatch, startEngine: false)
        defer { server.stop() }
        let inputs = (0..<12).map { "Client \($0) says" }
        let expected = try inputs.map { try greedy($0, 10).text }
        let answers = try await withThrowingTaskGroup(of: (Int, String?).self) { group in
            for (i, prompt) in inputs.enumerated() {
                group.addTask { (i, text(try await server.post("v1/completions", ["prompt": prompt, "max_tokens": 10, "temperature": 0]).1)) }
            }
            try await eventually("every request queued") { server.engine.load.waiting == inputs.count }
            server.engine.start()
            var answers = Array(repeating: String?.none, count: inputs.count)
            for try await (i, answer) in group { answers[i] = answer }
            return answers
        }
        #expect(answers == expected.map { Optional($0) })
        let sizes = server.engine.batchSizes
        #expect(sizes.keys.max() == maxBatch, "\(sizes)")
        let (_, metrics) = try await server.send("metrics")
        let page = String(decoding: metrics, as: UTF8.self)
        let steps = sizes.values.reduce(0, +), single = sizes[1] ?? 0
        #expect(page.contains("optiml_batch_size_bucket{le=\"1\"} \(single)\n") && page.contains("optiml_batch_size_count \(steps)\n"), "\(page)")
    }

    /// Without max_tokens a request gets OpenAI's 16, or the server's --max-tokens where that is lower (it was
    /// refused for a value the client never sent).
    @Test func theDefaultMaxTokensKeepsWithinTheServersLimit() async throws {
        let server = try await TestServer(maxTokens: 3)
        defer { server.stop() }
        let (status, body) = try await server.post("v1/completions", ["prompt": "hi", "temperature": 0])
        let usage = body["usage"] as? [String: Any]
        #expect(status == 200 && (usage?["completion_tokens"] as? Int ?? 99) <= 3, "\(body)")
        let (refused, _) = try await server.post("v1/completions", ["prompt": "hi", "max_tokens": 4])
        #expect(refused == 400)
    }

    @Test func aFullQueueAnswers429() async throws {
        // The engine is not started, so the first sequence holds the only slot.
        let server = try await TestServer(maxBatch: 1, maxQueue: 0, startEngine: false)
        defer { server.stop() }
        let first = try server.engine.submit(SequenceRequest(promptIDs: [2, 10], maxTokens: 1, parameters: GenerationParameters()))
        let (status, body) = try await server.post("v1/completions", ["prompt": "hi", "max_tokens": 2])
        #expect(status == 429 && (body["error"] as? [String: Any])?["type"] as? String == "rate_limit_error")
        _ = first
    }

    @Test func aSequenceWhoseClientLeftIsCancelled() async throws {
        let engine = Engine(model: TestServer.generator.model, tokenizer: TestServer.generator.tokenizer, maxBatch: 2, maxQueue: 4)
        var stream: AsyncStream<SequenceEvent>? = try engine.submit(SequenceRequest(promptIDs: [2, 10, 11], maxTokens: 40, parameters: GenerationParameters()))
        let reader = Task { [stream] in for await _ in stream! {} }
        reader.cancel()  // the consumer goes away before the engine runs
        _ = await reader.value
        stream = nil
        engine.start()
        let kept = try engine.submit(SequenceRequest(promptIDs: [2, 10], maxTokens: 3, parameters: GenerationParameters()))
        var tokens = 0
        for await event in kept { if case .token = event { tokens += 1 } }
        await engine.shutdown()
        #expect(tokens == 3 && engine.tokenCounts.generated == 3 && engine.load.running == 0)
    }

    /// `/v1/models/{id}` and the `model` field know the served name and the checkpoint folder's path;
    /// anything else is 404 `model_not_found`, as OpenAI and vLLM answer.
    @Test func theModelIsFoundByNameOrFolderAndAnUnknownOneIs404() async throws {
        let server = try await TestServer()
        defer { server.stop() }
        let folder = TestServer.modelDirectory.path
        for id in ["tiny", folder, folder + "/"] {
            let (status, data) = try await server.send("v1/models/" + id)
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
            #expect(status == 200 && object?["id"] as? String == "tiny" && object?["object"] as? String == "model", "\(id): \(status)")
        }
        let relative = String(folder.dropFirst(FileManager.default.currentDirectoryPath.count + 1))
        for model in [folder, folder + "/", "tiny"] + (folder.hasPrefix(FileManager.default.currentDirectoryPath + "/") ? [relative] : []) {
            let (status, body) = try await server.post("v1/completions", ["model": model, "prompt": "hi", "max_tokens": 2])
            #expect(status == 200 && body["model"] as? String == "tiny", "\(model): \(body)")
        }
        for (path, body) in [("v1/models/gpt-4", nil), ("v1/completions", ["model": "gpt-4", "prompt": "hi"]),
                             ("v1/chat/completions", ["model": "/nowhere/tiny", "messages": [["role": "user", "content": "hi"]]])] as [(String, [String: Any]?)] {
            let (status, data) = try await server.send(path, body: try body.map { try JSONSerialization.data(withJSONObject: $0) })
            let error = (try? JSONSerialization.jsonObject(with: data) as? [String: Any])?["error"] as? [String: Any]
            #expect(status == 404 && error?["code"] as? String == "model_not_found" && error?["type"] as? String == "invalid_request_error",
                    "\(path): \(status) \(String(decoding: data, as: UTF8.self))")
        }
    }

    /// The logprobs of a stream, chunk after chunk, are those of the same request unstreamed: the
    /// echoed prompt's included, `text_offset` running on through the choice's text.
    @Test func streamedLogprobsAddUpToTheUnstreamedOnes() async throws {
        let server = try await TestServer()
        defer { server.stop() }
        for echo in [true, false] {
            let request: [String: Any] = ["prompt": "The capital of France is", "max_tokens": 6, "temperature": 0, "logprobs": 2, "echo": echo]
            let (_, whole) = try await server.post("v1/completions", request)
            let choice = try #require((whole["choices"] as? [[String: Any]])?.first)
            let expected = try #require(choice["logprobs"] as? [String: Any])
            var streamedRequest = request
            streamedRequest["stream"] = true
            let (status, data) = try await server.send("v1/completions", body: try JSONSerialization.data(withJSONObject: streamedRequest))
            #expect(status == 200)
            let chunks = String(decoding: data, as: UTF8.self).components(separatedBy: "\n\n").filter { $0.hasPrefix("data: {") }
                .compactMap { try? JSONSerialization.jsonObject(with: Data($0.dropFirst(6).utf8)) as? [String: Any] }
                .compactMap { ($0["choices"] as? [[String: Any]])?.first }
            #expect(chunks.compactMap { $0["text"] as? String }.joined() == choice["text"] as? String)
            let blocks = chunks.compactMap { $0["logprobs"] as? [String: Any] }
            #expect(blocks.flatMap { $0["tokens"] as? [String] ?? [] } == expected["tokens"] as? [String])
            #expect(blocks.flatMap { $0["text_offset"] as? [Int] ?? [] } == expected["text_offset"] as? [Int], "echo \(echo)")
            let values = blocks.flatMap { $0["token_logprobs"] as? [Any] ?? [] }.map { $0 as? Double }
            #expect(values == (expected["token_logprobs"] as? [Any])?.map { $0 as? Double }, "echo \(echo)")
        }
    }

    /// Prompts are tokenized as vLLM does: text with the tokenizer's BOS (echoed as `</s>` with null
    /// values, no room in the text) unless `add_special_tokens` is false; token ids as given, their
    /// echo decoded with the special tokens spelled out. Every offset points at its token in the text.
    @Test func promptsAreTokenizedAndEchoedAsVLLMDoes() async throws {
        let server = try await TestServer()
        defer { server.stop() }
        let tokenizer = TestServer.generator.tokenizer
        let prompt = "The capital of France is"
        let body = tokenizer.encode(prompt, addBOS: false)
        let cases: [(Any, Bool, [Int], String)] = [
            (prompt, true, [2] + body, prompt),
            (prompt, false, body, prompt),
            ([2] + body, true, [2] + body, "</s>" + prompt),
            (body, true, body, prompt),
        ]
        for (input, addSpecialTokens, ids, echoed) in cases {
            let (status, answer) = try await server.post("v1/completions", ["prompt": input, "add_special_tokens": addSpecialTokens, "max_tokens": 0,
                                                                            "echo": true, "logprobs": 0])
            let choice = try #require((answer["choices"] as? [[String: Any]])?.first, "\(answer)")
            #expect(status == 200 && choice["text"] as? String == echoed)
            #expect((answer["usage"] as? [String: Int])?["prompt_tokens"] == ids.count)
            let logprobs = try #require(choice["logprobs"] as? [String: Any])
            let tokens = try #require(logprobs["tokens"] as? [String]), offsets = try #require(logprobs["text_offset"] as? [Int])
            #expect(tokens == ids.map { tokenizer.decode([$0]) })
            #expect((logprobs["token_logprobs"] as? [Any])?.first is NSNull && (logprobs["token_logprobs"] as? [Any])?.dropFirst().allSatisfy { $0 is Double } == true)
            let text = Array(echoed.unicodeScalars)
            for (token, offset) in zip(tokens, offsets) where !(token == "</s>" && !echoed.hasPrefix("</s>")) {
                #expect(String(String.UnicodeScalarView(text[offset...].prefix(token.unicodeScalars.count))) == token, "\(token) at \(offset) in \(echoed)")
            }
        }
    }

    /// The evaluation framework's remote backend against this server equals the local backend.
    @Test func theRemoteEvalBackendMatchesTheLocalOne() async throws {
        let server = try await TestServer()
        defer { server.stop() }
        let requests: [EvalRequest] = [
            .loglikelihood(context: "The capital of France is", continuation: " Paris"),
            .loglikelihood(context: "Q: Is the sky blue?\nA:", continuation: " yes"),
            .loglikelihood(context: "Q: Is the sky blue?\nA:", continuation: " no, it is green today"),
            .generate(context: "Translate to German: cat ->", until: ["\n"], maxTokens: 8),
            .generate(context: "The capital of France is", until: [], maxTokens: 12),
        ]
        let local = try LocalBackend(generator: TestServer.generator, identity: ModelIdentity(["model": "tiny"]), batchSize: 2)
        let remote = OpenAIBackend(baseURL: server.base.appendingPathComponent("v1"), model: "tiny", concurrency: 3, timeout: 600, retries: 0)
        let expected = try local.answer(requests)
        let actual = try await remote.answer(requests)
        for (a, e) in zip(actual, expected) {
            if let logprob = e.logprob { #expect(abs((a.logprob ?? 0) - logprob) < 1e-4, "\(a) vs \(e)") } else { #expect(a.text == e.text) }
        }
    }
}
