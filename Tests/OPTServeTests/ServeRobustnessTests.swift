import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import OPTModel
import Testing
@testable import OPTServe

/// The engine's lifecycle and failures, and what the server does with slow, huge and malformed
/// requests.
@Suite(.serialized) struct ServeRobustnessTests {
    static func engine() -> Engine {
        Engine(model: TestServer.generator.model, tokenizer: TestServer.generator.tokenizer, maxBatch: 4, maxQueue: 8)
    }

    /// Greedy, and exactly `tokens` new tokens (EOS does not stop it).
    static func request(_ ids: [Int], _ tokens: Int) -> SequenceRequest {
        var parameters = GenerationParameters()
        parameters.stopAtEOS = false
        return SequenceRequest(promptIDs: ids, maxTokens: tokens, parameters: parameters)
    }

    struct Outcome {
        var tokens: [Int] = []
        var finished = false
        var failure: String?
    }

    static func outcome(_ stream: AsyncStream<SequenceEvent>) async -> Outcome {
        var outcome = Outcome()
        for await event in stream {
            switch event {
            case let .token(id, _, _): outcome.tokens.append(id)
            case .finished: outcome.finished = true
            case let .failed(message): outcome.failure = message
            case .prompt: break
            }
        }
        return outcome
    }

    // MARK: - Engine lifecycle

    @Test func startingTwiceRunsOneLoopAndShutdownEndsIt() async throws {
        let engine = Self.engine()
        engine.start()
        engine.start()
        #expect(engine.bookkeeping.loops == 1)
        let answer = await Self.outcome(try engine.submit(Self.request([2, 10, 11], 4)))
        #expect(answer.tokens.count == 4 && answer.finished)
        await engine.shutdown()
        #expect(engine.bookkeeping.loops == 0)
        engine.start()
        #expect(engine.bookkeeping.loops == 0, "no start after shutdown")
        #expect(throws: EngineError.shuttingDown) { try engine.submit(Self.request([2, 10], 1)) }
    }

    /// A token id outside the vocabulary makes the model refuse the step; only that sequence fails,
    /// and the others of its batch get the tokens they get alone.
    @Test func aFailingSequenceFailsOnlyItself() async throws {
        let engine = Self.engine()
        let vocabulary = TestServer.generator.model.config.vocabSize
        // Queued before the engine starts, so the three share its first step.
        let first = try engine.submit(Self.request([2, 10, 11], 5))
        let broken = try engine.submit(Self.request([2, vocabulary + 7], 5))
        let last = try engine.submit(Self.request([2, 12], 4))
        engine.start()
        let a = await Self.outcome(first), b = await Self.outcome(broken), c = await Self.outcome(last)
        #expect(engine.batchSizes[3] == 1, "the three shared a step: \(engine.batchSizes)")
        #expect(b.failure != nil && b.tokens.isEmpty && !b.finished)
        #expect(a.failure == nil && a.finished && a.tokens.count == 5, "\(a)")
        #expect(c.failure == nil && c.finished && c.tokens.count == 4, "\(c)")
        let aloneA = await Self.outcome(try engine.submit(Self.request([2, 10, 11], 5)))
        let aloneC = await Self.outcome(try engine.submit(Self.request([2, 12], 4)))
        #expect(a.tokens == aloneA.tokens && c.tokens == aloneC.tokens)
        await engine.shutdown()
    }

    @Test func aCancelledSequenceLeavesNoEntryBehind() async throws {
        let engine = Self.engine()
        let stream = try engine.submit(Self.request([2, 10, 11], 40))
        let reader = Task { for await _ in stream {} }
        reader.cancel()  // the client goes away before the engine runs
        _ = await reader.value
        // Out of the queue at once, with nothing kept for the loop to act on.
        #expect(engine.load.waiting == 0 && engine.bookkeeping.pendingCancellations == 0)
        engine.start()
        let kept = await Self.outcome(try engine.submit(Self.request([2, 10], 3)))
        await engine.shutdown()
        #expect(kept.tokens.count == 3 && engine.tokenCounts.generated == 3)
        #expect(engine.bookkeeping.pendingCancellations == 0 && engine.load.running == 0)
    }

    /// On graceful shutdown the server stops listening, answers the request in flight (whose body is
    /// still coming) with the engine still running, and only then the engine stops.
    @Test func gracefulShutdownAnswersTheRequestInFlight() async throws {
        // A read timeout no slow machine reaches while the body waits.
        let server = try await TestServer(readTimeout: .seconds(600))
        defer { server.stop() }
        let prompt = "The capital of France is"
        let body = #"{"prompt": "\#(prompt)", "max_tokens": 8, "temperature": 0}"#
        let split = body.index(body.startIndex, offsetBy: 12)
        let connection = try RawConnection(port: server.port)
        let head = "POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n"
        try await offThePool { try connection.send(head + body[..<split]) }
        try await eventually("the request in flight") { server.server.metrics.requestsInFlight == 1 }
        await server.group.triggerGracefulShutdown()
        try await eventually("the listener closed") { (try? RawConnection(port: server.port)) == nil }
        let (status, answer) = try await offThePool {
            try connection.send(String(body[split...]))
            return try connection.readResponse()
        }
        var parameters = GenerationParameters()
        parameters.maxNewTokens = 8
        let reference = try TestServer.generator.generate(prompt: prompt, parameters: parameters)
        let json = (try? JSONSerialization.jsonObject(with: answer) as? [String: Any]) ?? [:]
        #expect(status == 200 && text(json) == reference.text, "\(status) \(String(decoding: answer, as: UTF8.self))")
        try await server.finished()
        #expect(server.engine.bookkeeping.loops == 0)
    }

    // MARK: - Slow and huge requests

    @Test func aHugeDeclaredBodyGets413AtOnce() async throws {
        let server = try await TestServer()
        defer { server.stop() }
        let connection = try RawConnection(port: server.port)
        // A trillion bytes declared, a few sent: the answer cannot wait for the rest.
        let (status, body) = try await offThePool {
            try connection.send("POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000000000000\r\n\r\n{\"prompt\": ")
            return try connection.readResponse()
        }
        let error = (try? JSONSerialization.jsonObject(with: body) as? [String: Any])?["error"] as? [String: Any]
        #expect(status == 413 && error?["type"] as? String == "invalid_request_error" && error?["message"] is String,
                "\(status) \(String(decoding: body, as: UTF8.self))")
    }

    /// A request pipelined behind a completion on the same connection: the completion's answer says the connection
    /// closes, and it does, at once (it was held open, the pipelined request never answered, past any timeout).
    @Test func aRequestPipelinedBehindACompletionClosesTheConnection() async throws {
        let server = try await TestServer()
        defer { server.stop() }
        let body = #"{"prompt": "hi", "max_tokens": 2}"#
        let connection = try RawConnection(port: server.port, receiveTimeout: 20)
        let answer = try await offThePool {
            try connection.send("POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                                + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            return String(decoding: try connection.readToEnd(), as: UTF8.self)
        }
        #expect(answer.hasPrefix("HTTP/1.1 200") && answer.lowercased().contains("connection: close"), "\(answer)")
        #expect(answer.components(separatedBy: "HTTP/1.1 ").count == 2, "one response: \(answer)")
    }

    /// The answer of a tiny model with 2,048 positions to 1,900 prompt tokens echoed with 20 log-probabilities
    /// each, for `n` choices, read by a client that waits 2 s before reading (so the server's writes back up): the
    /// bytes after the head, the length the head declared, and how much the process's resident memory grew.
    static func largeAnswer(n: Int) async throws -> (status: String, declared: Int?, received: Int, growth: Int) {
        let generator = try Generator(directory: packageRoot.appendingPathComponent("Tests/Fixtures/models/tiny-random-2048"))
        let server = try await TestServer(maxBatch: 16, generator: generator)
        defer { server.stop() }
        let prompt = (0..<1900).map { 4 + $0 % 1000 }
        let body = String(decoding: try JSONSerialization.data(withJSONObject: ["prompt": prompt, "max_tokens": 1, "n": n, "logprobs": 20,
                                                                                 "echo": true]), as: UTF8.self)
        let connection = try RawConnection(port: server.port, receiveTimeout: 120)
        let before = residentBytes()
        let answer = try await offThePool {
            try connection.send("POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                                + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)")
            Thread.sleep(forTimeInterval: 2)
            return try connection.readToEnd()
        }
        let growth = residentBytes() - before
        guard let headEnd = answer.range(of: Data("\r\n\r\n".utf8)) else { return ("", nil, 0, growth) }
        let lines = String(decoding: answer[..<headEnd.lowerBound], as: UTF8.self).lowercased().components(separatedBy: "\r\n")
        let declared = lines.first { $0.hasPrefix("content-length:") }
            .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) }
        return (lines[0], declared, answer.count - headEnd.upperBound, growth)
    }

    /// An answer larger than the sockets hold arrives whole before the connection closes (closing the connection's
    /// input to end it once cut such answers at a few MB).
    @Test func aLargeAnswerArrivesWhole() async throws {
        let (status, declared, received, _) = try await Self.largeAnswer(n: 16)
        #expect(status.hasPrefix("http/1.1 200") && declared == received && received > 8 << 20, "\(declared ?? -1) declared, \(received) received")
    }

    /// Encoding a large answer takes about ten times its size in short-lived objects; glibc kept them from the
    /// system once freed (an idle server held its peak: 162 MB for a 14 MB answer here, against 69 MB now).
    @Test(.enabled(if: residentBytes() > 0, "resident memory is read from Linux's /proc/self/statm"))
    func aLargeAnswersMemoryGoesBackToTheSystem() async throws {
        let (_, declared, received, growth) = try await Self.largeAnswer(n: 8)
        #expect(declared == received && growth < 8 * received, "resident memory grew \(growth >> 20) MB for a \(received >> 20) MB answer")
    }

    /// A request whose head, or body, stops coming is closed after the read timeout (short here),
    /// and a whole request is still answered.
    @Test func aRequestCutShortIsClosedAfterTheReadTimeout() async throws {
        let server = try await TestServer(readTimeout: .seconds(1))
        defer { server.stop() }
        let partials = [
            "POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le",
            "POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"prompt\": ",
        ]
        for partial in partials {
            let connection = try RawConnection(port: server.port, receiveTimeout: 120)
            // Returns once the server closes; throws `timedOut` if the connection outlives the receive timeout.
            _ = try await offThePool {
                try connection.send(partial)
                return try connection.readToEnd()
            }
        }
        let (status, body) = try await server.post("v1/completions", ["prompt": "hi", "max_tokens": 2])
        #expect(status == 200 && text(body) != nil)
        // The body cut short counts as a request that never arrived whole: 408 when its read fails, 499 (client
        // closed) when the closed connection cancels the handler first; never as a body too large (413).
        let page = String(decoding: try await server.send("metrics").1, as: UTF8.self)
        let abandoned = ["408", "499"].filter { page.contains(#"optiml_requests_total{endpoint="/v1/completions",status="\#($0)"} 1"#) }
        #expect(abandoned.count == 1 && !page.contains(#"status="413""#), "\(page)")
    }

    // MARK: - Strict input

    @Test func strictInputGetsOpenAIErrors() async throws {
        let server = try await TestServer()
        defer { server.stop() }
        func send(_ path: String, _ body: String, contentType: String) async throws -> (Int, Data) {
            try await server.send(path, body: Data(body.utf8), headers: ["Content-Type": contentType])
        }
        func expectError(_ path: String, _ body: String, contentType: String = "application/json", status: Int = 400, param: String? = nil) async throws {
            let (code, data) = try await send(path, body, contentType: contentType)
            let error = (try? JSONSerialization.jsonObject(with: data) as? [String: Any])?["error"] as? [String: Any]
            #expect(code == status && error?["type"] as? String == "invalid_request_error" && error?["message"] is String,
                    "\(body): \(code) \(String(decoding: data, as: UTF8.self))")
            #expect(error?["param"] as? String == param, "\(body)")
        }
        let completion = #"{"prompt": "hi", "max_tokens": 2}"#
        try await expectError("v1/completions", completion, contentType: "text/plain", status: 415)
        try await expectError("v1/completions", completion, contentType: "application/x-www-form-urlencoded", status: 415)
        try await expectError("v1/completions", #"{"prompt": "hi", "max_tokens": 2,}"#)
        try await expectError("v1/completions", #"{"prompt": ["a", "b" ,  ], "max_tokens": 2}"#)
        let image = #"{"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}"#
        try await expectError("v1/chat/completions", #"{"messages": [{"role": "user", "content": [\#(image)]}]}"#, param: "messages")
        let chat = #"{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 2"#
        try await expectError("v1/chat/completions", chat + #", "top_logprobs": 2}"#, param: "top_logprobs")
        try await expectError("v1/chat/completions", chat + #", "logprobs": false, "top_logprobs": 2}"#, param: "top_logprobs")
        // Still accepted: media-type parameters and case, commas inside strings, text beside an
        // image, top_logprobs with logprobs.
        let accepted = [
            ("v1/completions", completion, "application/json; charset=utf-8"),
            ("v1/completions", #"{"prompt": "a,}", "max_tokens": 2}"#, "Application/JSON"),
            ("v1/chat/completions", #"{"messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}, \#(image)]}], "max_tokens": 2}"#, "application/json"),
            ("v1/chat/completions", chat + #", "logprobs": true, "top_logprobs": 2}"#, "application/json"),
        ]
        for (path, body, contentType) in accepted {
            let (code, data) = try await send(path, body, contentType: contentType)
            #expect(code == 200, "\(body): \(String(decoding: data, as: UTF8.self))")
        }
    }
}

/// The process's resident memory (Linux's /proc/self/statm; 0 elsewhere).
func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let pages = text.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}
