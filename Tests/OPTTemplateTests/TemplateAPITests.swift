import Foundation
import OPTSupport
import OPTData
import Testing
@testable import OPTTemplate

@Suite struct TemplateErrorTests {
    @Test func syntaxErrorNamesTemplateLineAndColumn() {
        #expect(throws: TemplateError.self) { try Template("a\n{{ x + }}", name: "t.jinja") }
        do {
            _ = try Template("line one\nline two {{ x | upper }}\n  {% foo %}", name: "demo")
            Issue.record("expected a syntax error")
        } catch {
            #expect(error.kind == .syntax)
            #expect(error.templateName == "demo")
            #expect(error.line == 3)
            #expect(error.column == 6)
            #expect(error.description.contains("demo"))
            #expect(error.description.contains("line 3"))
            #expect(error.description.contains("column 6"))
        }
    }

    @Test func unknownFilterFailsAtParseTime() {
        do {
            _ = try Template("{{ x }}\n{{ x | nosuchfilter }}", name: "f")
            Issue.record("expected an error")
        } catch {
            #expect(error.kind == .syntax)
            #expect(error.line == 2)
            #expect(error.reason.contains("nosuchfilter"))
        }
    }

    @Test func runtimeErrorsAreLocated() throws {
        let template = try Template("ok\n  {{ 1 + name }}\n{{ missing.attr }}", name: "rt")
        do {
            _ = try template.render(["name": "s"])
            Issue.record("expected a type error")
        } catch {
            #expect(error.kind == .type)
            #expect(error.templateName == "rt")
            #expect(error.line == 2)
            #expect(error.column == 8)
        }
        do {
            _ = try template.render(["name": 1])
            Issue.record("expected an undefined error")
        } catch {
            #expect(error.kind == .undefined)
            #expect(error.reason == "'missing' is undefined")
            #expect(error.line == 3)
        }
    }

    @Test func deepNestingIsAnErrorNotACrash() {
        let deep = "{{ " + String(repeating: "(", count: 5000) + "1" + String(repeating: ")", count: 5000) + " }}"
        #expect(throws: TemplateError.self) { try Template(deep, name: "deep") }
        let deepIfs = String(repeating: "{% if true %}", count: 3000) + String(repeating: "{% endif %}", count: 3000)
        #expect(throws: TemplateError.self) { try Template(deepIfs, name: "deep") }
        let deepNot = "{{ " + String(repeating: "not ", count: 5000) + "x }}"
        #expect(throws: TemplateError.self) { try Template(deepNot, name: "deep") }
    }

    /// A long chain built in a loop (`1 + 1 + …`, `x|f|f…`, `x.a.a…`) is as deep as nesting, since each link wraps the
    /// one before and evaluation recurses through them: 20,000 links overflowed the stack. Held to the same bound,
    /// a chain of 150 still renders.
    @Test("long chains are nesting: an error, not a crash", arguments: [
        "1" + String(repeating: " + 1", count: 20000), "1" + String(repeating: " * 1", count: 20000),
        "1" + String(repeating: " ** 1", count: 20000), "x" + String(repeating: " or x", count: 20000),
        "x" + String(repeating: " and x", count: 20000), "x" + String(repeating: "|upper", count: 20000),
        "x" + String(repeating: ".a", count: 20000), "x" + String(repeating: "[0]", count: 20000),
        "x" + String(repeating: " if x else x", count: 20000), "x" + String(repeating: "(x)", count: 20000),
    ])
    func longChainsAreAnErrorNotACrash(chain: String) throws {
        #expect {
            try Template("{{ \(chain) }}", name: "chain")
        } throws: { error in
            "\(error)".contains("nested too deeply")
        }
    }

    @Test func chainsWithinTheBoundRender() throws {
        let sum = try Template("{{ 1" + String(repeating: " + 1", count: 149) + " }}", name: "sum")
        #expect(try sum.render([:]) == "150")
        let filters = try Template("{{ x" + String(repeating: "|upper", count: 150) + " }}", name: "filters")
        #expect(try filters.render(["x": .string("a")]) == "A")
    }

    @Test func deepJSONIsAnErrorNotACrash() {
        #expect(throws: DataError.self) { try TemplateValue(json: String(repeating: "[", count: 100_000)) }
    }

    @Test func hugeRepetitionIsRefused() throws {
        let t = try Template("{{ 'x' * 10000000000 }}", name: "big")
        #expect(throws: TemplateError.self) { try t.render([:]) }
    }
}

@Suite struct TemplateRandomTests {
    @Test func choiceIsReproducibleForASeed() throws {
        let t = try Template("{% for i in range(20) %}{{ xs | choice }}{% endfor %}", name: "choice")
        let vars: [String: TemplateValue] = ["xs": ["a", "b", "c", "d"]]
        let first = try t.render(vars, seed: 42)
        #expect(try t.render(vars, seed: 42) == first)
        #expect(first.count == 20)
        let others = try (0..<8).map { try t.render(vars, seed: UInt64($0)) }
        #expect(Set(others + [first]).count > 1)
        // Every element is reachable.
        #expect(Set(others.joined()) == ["a", "b", "c", "d"])
    }

    @Test func randomFilterUsesTheSameSource() throws {
        let t = try Template("{{ [1, 2, 3, 4, 5, 6, 7, 8] | random }}{{ [1, 2, 3, 4, 5, 6, 7, 8] | choice }}", name: "r")
        #expect(try t.render([:], seed: 7) == t.render([:], seed: 7))
    }

    @Test func splitMixMatchesReferenceSequence() {
        // Reference values of SplitMix64 seeded with 0.
        var rng = SplitMix64(state: 0)
        #expect(rng.next() == 0xE220_A839_7B1D_CDAF)
        #expect(rng.next() == 0x6E78_9E6A_A1B9_65F4)
    }
}

@Suite struct TemplateValueTests {
    @Test func literalsBuildValues() throws {
        let v: TemplateValue = ["name": "x", "n": 1, "f": 2.5, "ok": true, "none": nil, "list": [1, "a"]]
        let t = try Template("{{ v }}", name: "lit")
        #expect(try t.render(["v": v]) == "{'name': 'x', 'n': 1, 'f': 2.5, 'ok': True, 'none': None, 'list': [1, 'a']}")
    }

    @Test func jsonKeepsOrderAndNumberKinds() throws {
        let v = try TemplateValue(json: #"{"z": 1, "a": 1.0, "m": [1e2, -0, "\u00e9\ud83d\ude00"], "n": null}"#)
        let t = try Template("{{ v }}", name: "json")
        #expect(try t.render(["v": v]) == "{'z': 1, 'a': 1.0, 'm': [100.0, 0, 'é😀'], 'n': None}")
        #expect(throws: DataError.self) { try TemplateValue(json: "{\"a\": }") }
    }

    @Test func callerListsAreNotMutated() throws {
        let shared: TemplateValue = ["a"]
        let t = try Template("{% set _ = xs.append('b') %}{{ xs }}{% set ys = xs %}{% set _ = ys.append('c') %}{{ xs }}", name: "mut")
        #expect(try t.render(["xs": shared]) == "['a', 'b']['a', 'b', 'c']")
        #expect(try t.render(["xs": shared]) == "['a', 'b']['a', 'b', 'c']")
        guard case .list(let l) = shared else { Issue.record("not a list"); return }
        #expect(l.items == ["a"])
    }

    @Test func concurrentRendersShareInput() async throws {
        let t = try Template("{% set _ = xs.append(i) %}{{ xs | join(',') }}|{{ xs | length }}", name: "conc")
        let xs: TemplateValue = ["x", "y"]
        let results = await withTaskGroup(of: (Int, String).self) { group in
            for i in 0..<64 {
                group.addTask { (i, (try? t.render(["xs": xs, "i": .int(i)])) ?? "error") }
            }
            var out: [Int: String] = [:]
            for await (i, s) in group { out[i] = s }
            return out
        }
        for i in 0..<64 { #expect(results[i] == "x,y,\(i)|3") }
    }

    @Test func promptSourceTruncationPattern() throws {
        let source = "{{ premise }} ||| {{ answer_choices[label] }}".replacingOccurrences(of: "}}", with: " | string | truncate(2048) }}")
        let t = try Template(source, name: "ps")
        let long = String(repeating: "word ", count: 600)
        let out = try t.render(["premise": .string(long), "answer_choices": ["yes", "no"], "label": 1])
        #expect(out.hasSuffix("... ||| no"))
        #expect(out.count == 2048 - 3 - 1 + 3 + " ||| no".count)
    }
}
