/*
 * test_responses_surface.c - unit tests for the request side of the
 * OpenAI Responses surface (adapters/responses_surface.c, _in.c,
 * _tools.c): a Responses request into the canonical request, every
 * mapping, custom and namespaced tools, and refusals that name the
 * Responses parameter paths. Replies, streams and error bodies:
 * test_responses_reply.c.
 * SPDX-License-Identifier: MIT
 */
#include "responses_fixture.h"

static const char *
str_at(const char *path)
{
    struct json_object *v = at(req.root, path);
    return v && json_object_is_type(v, json_type_string)
               ? json_object_get_string(v)
               : NULL;
}

static size_t
len_at(const char *path)
{
    struct json_object *v = at(req.root, path);
    return v && json_object_is_type(v, json_type_array)
               ? json_object_array_length(v)
               : 99;
}

static const char *
text_at(const char *path)
{
    return text_of(at(req.root, path));
}

#define M "'model':'gpt-x'"

/* The refusal of 'body': SY_EBADREQ, err->param 'param', and a message
 * that says 'words'. */
static void
refused(const char *body, const char *param, const char *words)
{
    if (parse(body) != SY_EBADREQ)
        fail_msg("not refused: %s", body);
    assert_non_null(perr.param);
    assert_string_equal(perr.param, param);
    if (words != NULL && strstr(perr.message, words) == NULL)
        fail_msg("'%s' does not say '%s'", perr.message, words);
}

/* ------------------------------------------------------------------ */
/* Requests                                                            */

static void
test_basic(void **state)
{
    (void)state;
    assert_int_equal(parse("{" M ",'input':'hi','instructions':'Be terse.',"
                           "'store':false,'metadata':{'a':'b'},'user':'u',"
                           "'include':['reasoning.encrypted_content'],"
                           "'previous_response_id':'resp_1',"
                           "'prompt_cache_key':'k','truncation':'auto',"
                           "'service_tier':'auto','unknown_field':{'x':1}}"),
                     SY_OK);
    assert_string_equal(req.model, "gpt-x");
    assert_int_equal(req.nmessages, 2);
    assert_string_equal(text_at("messages"),
                        J("[{'role':'system','content':'Be terse.'},"
                          "{'role':'user','content':'hi'}]"));
    /* Nothing else is translated. */
    static const char *const untranslated[] = { "store",
                                                "metadata",
                                                "user",
                                                "include",
                                                "unknown_field",
                                                "previous_response_id",
                                                "prompt_cache_key",
                                                "truncation",
                                                "service_tier",
                                                "instructions",
                                                "input" };
    for (size_t i = 0; i < SY_ARRAY_LEN(untranslated); i++)
        assert_null(at(req.root, untranslated[i]));
    assert_false(req.stream);
    assert_int_equal(req.max_tokens, -1);
    /* The caller's own tree for a native adapter. */
    assert_string_equal(req.native.dialect, "openai-responses");
    assert_non_null(at(req.native.root, "unknown_field"));
    assert_string_equal(RS->name, "responses");
    assert_string_equal(RS->dialect, "openai-responses");
}

static void
test_params(void **state)
{
    (void)state;
    assert_int_equal(
        parse("{" M ",'input':'q','max_output_tokens':300,'temperature':0.5,"
              "'top_p':0.9,'reasoning':{'effort':'high','summary':'auto'},"
              "'stream':true,'text':{'format':{'type':'json_schema',"
              "'name':'out','schema':{'type':'object'},'strict':true,"
              "'description':'d'},'verbosity':'low'}}"),
        SY_OK);
    assert_int_equal(req.max_tokens, 300);
    assert_string_equal(text_at("max_completion_tokens"), "300");
    assert_string_equal(text_at("temperature"), "0.5");
    assert_string_equal(text_at("top_p"), "0.9");
    assert_string_equal(str_at("reasoning_effort"), "high");
    assert_true(req.stream);
    assert_true(req.include_usage);
    assert_int_equal(req.response_format, SY_FORMAT_JSON_SCHEMA);
    assert_string_equal(
        text_at("response_format"),
        J("{'type':'json_schema','json_schema':{'name':'out','schema':{"
          "'type':'object'},'strict':true,'description':'d'}}"));
    assert_null(at(req.root, "verbosity"));

    assert_int_equal(
        parse("{" M ",'input':'q','text':{'format':{'type':'json_object'}},"
              "'reasoning':{'summary':'auto'},'stream':false}"),
        SY_OK);
    assert_int_equal(req.response_format, SY_FORMAT_JSON_OBJECT);
    assert_null(at(req.root, "reasoning_effort"));
    assert_null(at(req.root, "stream"));
    assert_int_equal(
        parse("{" M ",'input':'q','text':{'format':{'type':'text'}}}"), SY_OK);
    assert_null(at(req.root, "response_format"));
}

static void
test_messages(void **state)
{
    (void)state;
    assert_int_equal(
        parse("{" M ",'input':["
              "{'type':'message','role':'developer','content':[{'type':"
              "'input_text','text':'A'},{'type':'input_text','text':'B'}]},"
              "{'role':'system','content':'S'},"
              "{'role':'user','content':[{'type':'input_text','text':'look'},"
              "{'type':'input_image','image_url':'https://x/i.png','detail':"
              "'high'},{'type':'input_file','filename':'a.pdf','file_data':"
              "'data:application/pdf;base64,JVBE'}]},"
              "{'type':'message','id':'msg_1','status':'completed','role':"
              "'assistant','content':[{'type':'output_text','text':'Hel',"
              "'annotations':[]},{'type':'output_text','text':'lo'}]},"
              "{'role':'user','content':[]},"
              "{'role':'assistant','content':'plain'}]}"),
        SY_OK);
    assert_string_equal(
        text_at("messages"),
        J("[{'role':'system','content':'A\\n\\nB'},"
          "{'role':'system','content':'S'},"
          "{'role':'user','content':[{'type':'text','text':'look'},"
          "{'type':'image_url','image_url':{'url':'https://x/i.png',"
          "'detail':'high'}},{'type':'file','file':{'file_data':"
          "'data:application/pdf;base64,JVBE','filename':'a.pdf'}}]},"
          "{'role':'assistant','content':'Hello'},"
          "{'role':'assistant','content':'plain'}]"));
}

static void
test_calls_and_outputs(void **state)
{
    (void)state;
    assert_int_equal(
        parse("{" M ",'input':[{'role':'user','content':'w'},"
              "{'type':'reasoning','id':'rs_1','summary':[{'type':"
              "'summary_text','text':'plan'},{'type':'summary_text','text':"
              "'more'}],'encrypted_content':'xx'},"
              "{'type':'message','role':'assistant','content':[{'type':"
              "'output_text','text':'Checking.'}]},"
              "{'type':'function_call','id':'fc_1','call_id':'c1','name':"
              "'get','arguments':'{}','status':'completed'},"
              "{'type':'function_call','call_id':'c2','name':'now',"
              "'arguments':''},"
              "{'type':'function_call_output','call_id':'c1','output':'4 C'},"
              "{'type':'function_call_output','call_id':'c2','output':["
              "{'type':'input_text','text':'a'},{'type':'input_image',"
              "'image_url':'https://x/y.png'},{'type':'input_text','text':"
              "'b'}]},"
              "{'type':'function_call','call_id':'c3','name':'x',"
              "'arguments':'{}'}]}"),
        SY_OK);
    assert_int_equal(len_at("messages"), 6);
    /* The reasoning goes with the next assistant message; the calls
     * after a message join it. */
    assert_string_equal(
        text_at("messages.1"),
        J("{'role':'assistant','content':'Checking.','reasoning_content':"
          "'plan\\n\\nmore','tool_calls':[{'id':'c1','type':'function',"
          "'function':{'name':'get','arguments':'{}'}},{'id':'c2','type':"
          "'function','function':{'name':'now','arguments':''}}]}"));
    assert_string_equal(
        text_at("messages.2"),
        J("{'role':'tool','tool_call_id':'c1','content':'4 C'}"));
    assert_string_equal(
        text_at("messages.3"),
        J("{'role':'tool','tool_call_id':'c2','content':'a\\nb'}"));
    /* The tool outputs' images come after the tool messages. */
    assert_string_equal(
        text_at("messages.4"),
        J("{'role':'user','content':[{'type':'image_url','image_url':{"
          "'url':'https://x/y.png'}}]}"));
    assert_string_equal(
        text_at("messages.5"),
        J("{'role':'assistant','content':null,'tool_calls':[{'id':'c3',"
          "'type':'function','function':{'name':'x','arguments':'{}'}}]}"));
}

#define APPLY                                                            \
    "{'type':'custom','name':'apply_patch','description':'Edit files.'," \
    "'format':{'type':'grammar','syntax':'lark','definition':'start: x'}}"

static void
test_tools(void **state)
{
    (void)state;
    assert_int_equal(
        parse("{" M ",'input':'q','tools':[{'type':'function','name':"
              "'get','description':'Get it.','parameters':{'type':"
              "'object','properties':{'city':{'type':'string'}}},'strict':"
              "false}," APPLY ",{'type':'custom','name':'free'},"
              "{'type':'web_search','external_web_access':false},"
              "{'type':'tool_search','execution':'client'},"
              "{'type':'namespace','name':'ns','description':'N','tools':["
              "{'type':'function','name':'spawn','parameters':{}},"
              "{'type':'function','name':'get'}]}],"
              "'tool_choice':{'type':'custom','name':'apply_patch'},"
              "'parallel_tool_calls':false}"),
        SY_OK);
    assert_int_equal(len_at("tools"), 5);
    assert_int_equal(req.ntool_schemas, 5);
    assert_string_equal(
        text_at("tools.0"),
        J("{'type':'function','function':{'name':'get','description':"
          "'Get it.','parameters':{'type':'object','properties':{'city':{"
          "'type':'string'}}},'strict':false}}"));
    assert_string_equal(str_at("tools.1.function.name"), "apply_patch");
    assert_string_equal(str_at("tools.1.function.description"),
                        "Edit files.\n\nGive the tool's input in the "
                        "\"input\" argument, as text in this lark "
                        "grammar:\nstart: x");
    assert_string_equal(text_at("tools.1.function.parameters"),
                        J("{'type':'object','properties':{'input':{'type':"
                          "'string'}},'required':['input'],"
                          "'additionalProperties':false}"));
    assert_string_equal(str_at("tools.2.function.name"), "free");
    /* Hosted web and tool search are dropped; a namespaced tool keeps
     * its name unless another tool has it. */
    assert_string_equal(str_at("tools.3.function.name"), "spawn");
    assert_string_equal(str_at("tools.4.function.name"), "ns__get");
    assert_string_equal(text_at("tool_choice"),
                        J("{'type':'function','function':{'name':"
                          "'apply_patch'}}"));
    assert_string_equal(text_at("parallel_tool_calls"), "false");

    /* String tool choices; a request left without tools has neither. */
    assert_int_equal(parse("{" M ",'input':'q','tools':[{'type':'function',"
                           "'name':'a'}],'tool_choice':'required'}"),
                     SY_OK);
    assert_string_equal(str_at("tool_choice"), "required");
    assert_int_equal(parse("{" M ",'input':'q','tools':[{'type':"
                           "'web_search_preview'}],'tool_choice':'auto',"
                           "'parallel_tool_calls':true}"),
                     SY_OK);
    assert_null(at(req.root, "tools"));
    assert_null(at(req.root, "tool_choice"));
    assert_null(at(req.root, "parallel_tool_calls"));
}

static void
test_custom_and_namespaced_calls(void **state)
{
    (void)state;
    assert_int_equal(
        parse("{" M ",'input':[{'type':'additional_tools','role':"
              "'developer','tools':[{'type':'namespace','name':'fns',"
              "'tools':[{'type':'custom','name':'exec'},{'type':'function',"
              "'name':'get'}]}]},"
              "{'role':'user','content':'w'},"
              "{'type':'custom_tool_call','call_id':'c1','name':'exec',"
              "'namespace':'fns','input':'*** Begin \\\"x\\\"'},"
              "{'type':'function_call','call_id':'c2','name':'get',"
              "'namespace':'fns','arguments':'{}'},"
              "{'type':'custom_tool_call_output','call_id':'c1','output':"
              "'done'}],"
              "'tools':[{'type':'function','name':'get'}]}"),
        SY_OK);
    assert_int_equal(len_at("tools"), 3);
    assert_string_equal(str_at("tools.0.function.name"), "get");
    assert_string_equal(str_at("tools.1.function.name"), "exec");
    assert_string_equal(str_at("tools.2.function.name"), "fns__get");
    assert_string_equal(
        text_at("messages.1.tool_calls"),
        J("[{'id':'c1','type':'function','function':{'name':'exec',"
          "'arguments':'{\\'input\\':\\'*** Begin \\\\\\'x\\\\\\'\\'}'}},"
          "{'id':'c2','type':'function','function':{'name':'fns__get',"
          "'arguments':'{}'}}]"));
    assert_string_equal(
        text_at("messages.2"),
        J("{'role':'tool','tool_call_id':'c1','content':'done'}"));
}

static void
test_refusals(void **state)
{
    (void)state;
#define R refused
    R("{'input':'x'}", "model", "Missing required parameter: 'model'.");
    R("{'model':7,'input':'x'}", "model",
      "Invalid type for 'model': expected a string, but got an integer "
      "instead.");
    R("{" M "}", "input", "Missing required parameter: 'input'.");
    R("{" M ",'input':5}", "input", "a string or an array of input items");
    R("{" M ",'input':[]}", "input", "non-empty");
    R("{" M ",'input':[5]}", "input[0]", "expected an object");
    R("{" M ",'input':[{'content':'x'}]}", "input[0].role",
      "Missing required parameter: 'input[0].role'.");
    R("{" M ",'input':[{'role':'tool','content':'x'}]}", "input[0].role",
      "Invalid value: 'tool'. Supported values are: 'user', 'assistant'");
    R("{" M ",'input':[{'role':'user'}]}", "input[0].content",
      "Missing required parameter");
    R("{" M ",'input':[{'role':'user','content':{}}]}", "input[0].content",
      "Invalid type for 'input[0].content'");
    R("{" M ",'input':[{'role':'user','content':'a'},{'role':'user',"
      "'content':[{'type':'input_text','text':'a'},{'type':'input_video'}]}]}",
      "input[1].content[1].type", "Invalid value: 'input_video'");
    R("{" M ",'input':[{'role':'user','content':[{'text':'a'}]}]}",
      "input[0].content[0].type", "Missing required parameter");
    R("{" M ",'input':[{'role':'user','content':[{'type':'input_image',"
      "'file_id':'f'}]}]}",
      "input[0].content[0].file_id", "not supported by this gateway");
    R("{" M ",'input':[{'role':'user','content':[{'type':'input_file',"
      "'file_id':'f'}]}]}",
      "input[0].content[0].file_id", "Files API");
    R("{" M ",'input':[{'role':'user','content':[{'type':'input_file',"
      "'file_url':'https://x/a.pdf'}]}]}",
      "input[0].content[0].file_url", "file urls");
    R("{" M ",'input':[{'role':'system','content':[{'type':'input_image',"
      "'image_url':'u'}]}]}",
      "input[0].content[0].type", "Supported values are: 'input_text'");
    R("{" M ",'input':[{'type':'function_call','name':'a','arguments':'{}'}]}",
      "input[0].call_id", "Missing required parameter");
    R("{" M ",'input':[{'type':'function_call','call_id':'c','name':'a',"
      "'arguments':{}}]}",
      "input[0].arguments", "expected a string");
    R("{" M ",'input':[{'type':'function_call_output','call_id':'c'}]}",
      "input[0].output", "Missing required parameter");
    R("{" M ",'input':[{'type':'item_reference','id':'msg_1'}]}", "input[0]",
      "item references are not supported");
    R("{" M ",'input':[{'id':'msg_1'}]}", "input[0]", "item references");
    R("{" M ",'input':[{'type':'web_search_call','id':'ws_1'}]}",
      "input[0].type", "Invalid value: 'web_search_call'");
    R("{" M ",'input':[{'type':'reasoning','summary':[{'type':"
      "'summary_text'}]}]}",
      "input[0].summary[0].text", "Missing required parameter");
    R("{" M ",'input':'q','tools':[{'type':'function','name':'a'},{'type':"
      "'code_interpreter','container':{'type':'auto'}}]}",
      "tools[1].type",
      "tool type 'code_interpreter' is a hosted tool this gateway cannot "
      "serve");
    R("{" M ",'input':'q','tools':[{'type':'file_search'}]}", "tools[0].type",
      "hosted tool");
    R("{" M ",'input':'q','tools':[{'type':'warp'}]}", "tools[0].type",
      "Invalid value: 'warp'");
    R("{" M ",'input':'q','tools':[{'type':'function'}]}", "tools[0].name",
      "Missing required parameter: 'tools[0].name'.");
    R("{" M ",'input':'q','tools':[{'type':'function','name':''}]}",
      "tools[0].name", "empty string");
    R("{" M ",'input':'q','tools':[{'type':'function','name':'a',"
      "'parameters':[]}]}",
      "tools[0].parameters", "expected an object");
    R("{" M ",'input':'q','tools':[{'type':'namespace','name':'n','tools':"
      "[{'type':'mcp'}]}]}",
      "tools[0].tools[0].type", "hosted tool");
    R("{" M ",'input':[{'type':'additional_tools','tools':[{'type':"
      "'function'}]},{'role':'user','content':'x'}]}",
      "input[0].tools[0].name", "Missing required parameter");
    R("{" M ",'input':'q','tool_choice':'any'}", "tool_choice",
      "Invalid value: 'any'");
    R("{" M ",'input':'q','tool_choice':{'type':'web_search_preview'}}",
      "tool_choice.type", "not supported by this gateway");
    R("{" M ",'input':'q','tool_choice':{'type':'function'}}",
      "tool_choice.name", "Missing required parameter");
    R("{" M ",'input':'q','text':{'format':{'type':'xml'}}}",
      "text.format.type", "Invalid value: 'xml'");
    R("{" M ",'input':'q','text':{'format':{'type':'json_schema','schema':"
      "{}}}}",
      "text.format.name", "Missing required parameter");
    R("{" M ",'input':'q','reasoning':{'effort':1}}", "reasoning.effort",
      "expected a string");
    R("{" M ",'input':'q','stream':'yes'}", "stream", "expected a boolean");
    R("{" M ",'input':'q','max_output_tokens':1.5}", "max_output_tokens",
      "expected an integer");
    /* The canonical checks' refusals are renamed for the caller. */
    R("{" M ",'input':'q','max_output_tokens':0}", "max_output_tokens",
      "'max_output_tokens' must be at least 1");
    R("{" M ",'input':'q','temperature':3}", "temperature", "between 0 and 2");
    R("{" M ",'input':'q','tools':[{'type':'web_search'},{'type':"
      "'function','name':'a','parameters':{'type':'object',"
      "'unevaluatedProperties':false}}]}",
      "tools[1].parameters", "'tools[1].parameters' cannot be enforced");
    R("{" M ",'input':'q','text':{'format':{'type':'json_schema','name':"
      "'o','schema':{'unevaluatedProperties':false}}}}",
      "text.format.schema", "unsupported keyword");
#undef R
}

static void
test_reject_body(void **state)
{
    (void)state;
    char body[1024];
    size_t n =
        (size_t)snprintf(body, sizeof(body), "{" M ",'input':'q','metadata':");
    for (int i = 0; i < 100; i++)
        body[n++] = '[';
    for (int i = 0; i < 100; i++)
        body[n++] = ']';
    body[n++] = '}';
    body[n] = '\0';
    assert_int_equal(parse_raw(J(body), 64), SY_EBADREQ);
    assert_non_null(strstr(perr.message, "deeper than 64"));
    assert_int_equal(parse_raw("", 64), SY_EBADREQ);
    assert_int_equal(parse_raw("[1]", 64), SY_EBADREQ);
}

int
main(void)
{
    /* Unbuffered, so cmocka's stdout and stderr lines stay in order when
     * tests/unit/run captures them. */
    setvbuf(stdout, NULL, _IONBF, 0);
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_basic),    T(test_params),
        T(test_messages), T(test_calls_and_outputs),
        T(test_tools),    T(test_custom_and_namespaced_calls),
        T(test_refusals), T(test_reject_body),
#undef T
    };
    return cmocka_run_group_tests_name("responses_surface", tests, NULL, NULL);
}
