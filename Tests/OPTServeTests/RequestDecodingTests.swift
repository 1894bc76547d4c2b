import Foundation
import OPTOpenAI
import Testing

/// The request bodies as Codable types: every field's failure names the field, and what the evaluation
/// backend writes is what the server reads.
@Suite struct RequestDecodingTests {
    func completion(_ json: String) throws -> CompletionRequestBody {
        try JSONDecoder().decode(CompletionRequestBody.self, from: Data(json.utf8))
    }

    func chat(_ json: String) throws -> ChatCompletionRequestBody {
        try JSONDecoder().decode(ChatCompletionRequestBody.self, from: Data(json.utf8))
    }

    @Test func promptTakesEveryFormOpenAIAllows() throws {
        #expect(try completion(#"{"prompt": "hi"}"#).prompt == .text("hi"))
        #expect(try completion(#"{"prompt": ["a", "b"]}"#).prompt == .texts(["a", "b"]))
        #expect(try completion(#"{"prompt": [2, 10.0]}"#).prompt == .tokens([2, 10]))
        #expect(try completion(#"{"prompt": [[2], [3, 4]]}"#).prompt == .tokenLists([[2], [3, 4]]))
        #expect(try completion(#"{"prompt": []}"#).prompt == .texts([]))
    }

    @Test func aFieldOfTheWrongTypeIsNamed() throws {
        let cases: [(String, String, String)] = [
            (#"{"max_tokens": "ten"}"#, "max_tokens", "max_tokens must be a number"),
            (#"{"max_tokens": 1.5}"#, "max_tokens", "max_tokens must be an integer"),
            (#"{"seed": 18446744073709551615}"#, "seed", "seed must be an integer between \(Int.min) and \(Int.max)"),
            (#"{"n": true}"#, "n", "n must be a number"),
            (#"{"echo": 1}"#, "echo", "echo must be true or false"),
            (#"{"temperature": "hot"}"#, "temperature", "temperature must be a number"),
            (#"{"model": 3}"#, "model", "model must be a string"),
            (#"{"stop": ["a", "b", "c", "d", "e"]}"#, "stop", "stop must be a string or a list of at most 4 strings"),
            (#"{"stop": 5}"#, "stop", "stop must be a string or a list of at most 4 strings"),
            (#"{"stream_options": {"include_usage": "yes"}}"#, "include_usage", "include_usage must be true or false"),
            (#"{"stream_options": 1}"#, "stream_options", "stream_options must be an object"),
            (#"{"prompt": 5}"#, "prompt", "prompt must be a string, a list of strings, a list of token ids or a list of lists of token ids"),
            (#"{"prompt": [1, true]}"#, "prompt", "a token-id prompt must hold integers only"),
            (#"{"prompt": null}"#, "prompt", "prompt is required"),
        ]
        for (fields, field, message) in cases {
            // The prompt is valid unless the case is about it.
            let json = fields.contains("prompt") ? fields : #"{"prompt": "hi", "# + fields.dropFirst()
            #expect(throws: InvalidRequestField(field, message), "\(json)") { try completion(json) }
        }
        #expect(throws: InvalidRequestField("messages", "messages must be a non-empty list of {role, content}")) {
            try chat(#"{"messages": "not a list"}"#)
        }
        #expect(throws: InvalidRequestField("messages", "messages[1] must be an object with a role")) {
            try chat(#"{"messages": [{"role": "user", "content": "a"}, {"content": "b"}]}"#)
        }
        #expect(throws: InvalidRequestField("messages", "messages[0].content must be a string or a list of text parts")) {
            try chat(#"{"messages": [{"role": "user", "content": 5}]}"#)
        }
        #expect(throws: InvalidRequestField("max_completion_tokens", "max_completion_tokens must be a number")) {
            try chat(#"{"messages": [], "max_completion_tokens": "x"}"#)
        }
    }

    @Test func absentAndNullFieldsAreNilAndStopIsAList() throws {
        let body = try completion(#"{"prompt": "hi", "max_tokens": null, "stop": "\n", "seed": 9223372036854775807}"#)
        #expect(body.sampling.maxTokens == nil && body.sampling.temperature == nil && body.echo == nil)
        #expect(body.sampling.stop == ["\n"] && body.sampling.seed == Int.max)
        let chatBody = try chat(#"{"messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}, {"type": "image_url", "image_url": {}}]}], "max_completion_tokens": 3}"#)
        #expect(chatBody.sampling.maxTokens == 3)
        #expect(chatBody.messages[0].content == .parts([.init(type: "text", text: "hi"), .init(type: "image_url", text: nil)]))
    }

    @Test func whatAClientWritesTheServerReads() throws {
        let completionBody = CompletionRequestBody(
            model: "m", prompt: .tokenLists([[2, 3]]),
            sampling: SamplingOptions(maxTokens: 4, n: 2, temperature: 0.5, topP: 0.9, topK: 5, repetitionPenalty: 1.1, seed: 7, stop: ["\n"],
                                      stream: true, streamOptions: StreamOptions(includeUsage: true)),
            logprobs: 1, echo: true, addSpecialTokens: false)
        #expect(try JSONDecoder().decode(CompletionRequestBody.self, from: WireJSON.encode(completionBody)) == completionBody)
        let chatBody = ChatCompletionRequestBody(model: "m", messages: [ChatRequestMessage(role: "user", content: "hi")],
                                                 sampling: SamplingOptions(maxTokens: 2), logprobs: true, topLogprobs: 3)
        #expect(try JSONDecoder().decode(ChatCompletionRequestBody.self, from: WireJSON.encode(chatBody)) == chatBody)
        // Absent fields are left out, not sent as null.
        let sparse = String(decoding: WireJSON.encode(CompletionRequestBody(prompt: .text("x"))), as: UTF8.self)
        #expect(sparse == #"{"prompt":"x"}"#)
    }
}
